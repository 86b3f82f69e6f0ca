import { accessSync, constants, readdirSync, statSync } from "node:fs";
import net from "node:net";
import { delimiter, isAbsolute, join } from "node:path";

/**
 * What the specs need beyond Node and npm, and what to do when it is missing: a service they talk to (Redis,
 * PostgreSQL, MariaDB, memcached) or a program they start (redis-server, memcached, Chromium...). Under CI a
 * missing one is a failure, so CI can never pass by skipping; on a developer's machine the suite is marked
 * pending, and at the end of the run one line (spec/support/skip_summary.ts, loaded by .mocharc.json) names
 * everything that was missing and the command that installs it all (mocha's `this.skip()` takes no reason
 * and the spec reporter prints only "- title").
 *
 *   before(async function () {
 *     await useService(this, "redis");
 *     await useBinary(this, "memcached");
 *   });
 */
export type ServiceName = "redis" | "postgres" | "mysql" | "memcache";

export const SERVICE_ENV: Readonly<Record<ServiceName, string>> = {
  redis: "REDIS_URL",
  postgres: "DATABASE_URL_PG",
  mysql: "DATABASE_URL_MYSQL",
  memcache: "MEMCACHE_SERVER",
};

export const SERVICE_DEFAULTS: Readonly<Record<ServiceName, string>> = {
  redis: "redis://127.0.0.1:6379",
  postgres: "postgres://postgres@127.0.0.1:5432/test",
  mysql: "mysql://root@127.0.0.1:3306/test",
  memcache: "127.0.0.1:11211",
};

const DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = {
  redis: 6379,
  postgres: 5432,
  mysql: 3306,
  memcache: 11211,
};

type Env = Readonly<Record<string, string | undefined>>;

export interface ServiceAddress {
  host: string;
  port: number;
}

export interface ProbeResult {
  reachable: boolean;
  /** Why not, when not reachable: an error code such as ECONNREFUSED, or "timeout after 1000ms". */
  detail?: string;
}

export type Probe = (address: ServiceAddress, timeoutMs: number) => Promise<ProbeResult>;

/** `missing` is the short phrase the end-of-run summary lists, e.g. "Redis not reachable on 127.0.0.1:6379". */
export type ServiceDecision =
  | { action: "run"; address: ServiceAddress }
  | { action: "fail"; address: ServiceAddress; error: Error; missing: string }
  | { action: "skip"; address: ServiceAddress; reason: string; missing: string };

/** What the summary calls each service. */
export const SERVICE_LABELS: Readonly<Record<ServiceName, string>> = {
  redis: "Redis",
  postgres: "PostgreSQL",
  mysql: "MySQL/MariaDB",
  memcache: "memcached",
};

export interface CheckOptions {
  /** Defaults to `process.env`; read for the service's URL variable and `CI`. */
  env?: Env;
  /** Overrides the address taken from the URL (specs use a closed local port). */
  address?: ServiceAddress;
  probe?: Probe;
  /** Connect timeout, default 1000 ms. */
  timeoutMs?: number;
  /** Answers by "host:port"; defaults to one map for the whole run so each service is probed once. */
  cache?: Map<string, Promise<ProbeResult>>;
}

/** The service's URL (server string for memcache) from env, or the local default. */
export function serviceUrl(name: ServiceName, env: Env = process.env): string {
  const value = env[SERVICE_ENV[name]]?.trim();
  return value ? value : SERVICE_DEFAULTS[name];
}

/**
 * host:port of a service URL. For memcache the value is a memjs server string: "host:port", optionally
 * "user:pass@host:port", possibly a comma-separated list (the first server is checked).
 */
export function serviceAddress(name: ServiceName, env: Env = process.env): ServiceAddress {
  const raw = serviceUrl(name, env);
  const url =
    name === "memcache"
      ? new URL(`memcache://${(raw.split(",")[0] ?? "").trim().replace(/^[a-z]+:\/\//i, "")}`)
      : new URL(raw);
  // An IPv6 literal comes back bracketed; a URL with no host (a unix socket) means the local default.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[name];
  return { host, port };
}

/** `CI` set to anything but "", "0" or "false" counts (the CI runner sets CI=true). */
export function isCI(env: Env = process.env): boolean {
  const value = (env.CI ?? "").trim().toLowerCase();
  return value !== "" && value !== "0" && value !== "false";
}

/** Plain TCP connect with a bounded timeout: reachability only, no protocol. */
export const tcpProbe: Probe = (address, timeoutMs) =>
  new Promise((resolve) => {
    const socket = net.connect({ host: address.host, port: address.port });
    const finish = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ reachable: false, detail: `timeout after ${timeoutMs}ms` }),
      timeoutMs,
    );
    socket.once("connect", () => finish({ reachable: true }));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      finish({ reachable: false, detail: error.code ?? error.message }),
    );
  });

const sharedCache = new Map<string, Promise<ProbeResult>>();

function formatAddress({ host, port }: ServiceAddress): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Probes the service (once per address per run) and decides: run, fail (under CI) or skip. */
export async function checkService(name: ServiceName, options: CheckOptions = {}): Promise<ServiceDecision> {
  const env = options.env ?? process.env;
  const address = options.address ?? serviceAddress(name, env);
  const cache = options.cache ?? sharedCache;
  const key = formatAddress(address);
  let answer = cache.get(key);
  if (!answer) {
    answer = (options.probe ?? tcpProbe)(address, options.timeoutMs ?? 1000);
    cache.set(key, answer);
  }
  const result = await answer;
  if (result.reachable) return { action: "run", address };
  // The address only: a URL may carry a password.
  const source = env[SERVICE_ENV[name]]?.trim()
    ? `from ${SERVICE_ENV[name]}`
    : `default, ${SERVICE_ENV[name]} unset`;
  const reason = `${name} is not reachable at ${key} (${result.detail ?? "no answer"}; ${source})`;
  // Naming the variable when it is set, since then the install command is not what would fix it.
  const missing = `${SERVICE_LABELS[name]} not reachable on ${key}${source.startsWith("from") ? ` (${SERVICE_ENV[name]})` : ""}`;
  if (isCI(env)) {
    return {
      action: "fail",
      address,
      missing,
      error: new Error(`${reason}: under CI an unreachable service is a failure, not a skip`),
    };
  }
  return { action: "skip", address, reason, missing };
}

// ---------------------------------------------------------------------------------------------------------
// Programs the specs start themselves.

export type BinaryName =
  | "redis-server"
  | "redis-cli"
  | "memcached"
  | "postgres-server"
  | "chromium"
  | "script";

interface BinarySpec {
  /** What the summary calls it. */
  label: string;
  /** Where to look, first hit wins: PATH for most, the fixed place the spec starts it from for the rest. */
  candidates(env: Env): string[];
}

const onPath =
  (command: string) =>
  (env: Env): string[] =>
    (env.PATH ?? "")
      .split(delimiter)
      .filter((dir) => dir !== "")
      .map((dir) => join(dir, command));

/** Debian's server binaries, where bench/faults/lib.ts's PrivatePostgres takes initdb and pg_ctl from. */
const POSTGRES_BIN_BASE = "/usr/lib/postgresql";

export const BINARIES: Readonly<Record<BinaryName, BinarySpec>> = {
  "redis-server": { label: "redis-server", candidates: onPath("redis-server") },
  "redis-cli": { label: "redis-cli", candidates: onPath("redis-cli") },
  memcached: { label: "memcached", candidates: onPath("memcached") },
  "postgres-server": {
    label: `PostgreSQL server programs (${POSTGRES_BIN_BASE}/*/bin/initdb)`,
    candidates: () => {
      try {
        return readdirSync(POSTGRES_BIN_BASE).map((version) =>
          join(POSTGRES_BIN_BASE, version, "bin", "initdb"),
        );
      } catch {
        return [];
      }
    },
  },
  chromium: { label: "Chromium", candidates: onPath("chromium") },
  script: { label: "script (util-linux)", candidates: () => ["/usr/bin/script"] },
};

/** A regular file this process may execute. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

export type BinaryDecision =
  | { action: "run"; path: string }
  | { action: "fail"; error: Error; missing: string }
  | { action: "skip"; reason: string; missing: string };

export interface CheckBinaryOptions {
  /** Defaults to `process.env`; read for PATH and `CI`. */
  env?: Env;
  /** The one place to look instead of the usual ones (an absolute path, as the spec will start it). */
  path?: string;
  /** Defaults to `isExecutable`. */
  exists?: (file: string) => boolean;
}

/** Looks for the program and decides: run, fail (under CI) or skip. */
export function checkBinary(name: BinaryName, options: CheckBinaryOptions = {}): BinaryDecision {
  const env = options.env ?? process.env;
  const spec = BINARIES[name];
  const candidates = options.path ? [options.path] : spec.candidates(env);
  const found = candidates.find((file) => isAbsolute(file) && (options.exists ?? isExecutable)(file));
  if (found) return { action: "run", path: found };
  // A fixed place is named, since that is where the spec will start it from; PATH goes without saying.
  const missing = `${spec.label} not installed${options.path ? ` (${options.path})` : ""}`;
  const reason = options.path
    ? `${spec.label} is not at ${options.path}`
    : name === "postgres-server" || name === "script"
      ? `${spec.label} is not installed`
      : `${spec.label} is not on PATH`;
  if (isCI(env)) {
    return {
      action: "fail",
      missing,
      error: new Error(`${reason}: under CI a missing program is a failure, not a skip`),
    };
  }
  return { action: "skip", reason, missing };
}

// ---------------------------------------------------------------------------------------------------------
// The gate, and the ledger the end-of-run summary reads.

/** The command that installs and starts everything the specs need (README, "Set-up"). */
export const INSTALL_COMMAND = "bash .ci/run --services-only";

interface LedgerEntry {
  outcome: "skip" | "fail";
  specs: number;
}

/** What was missing, how many specs it kept from running, and whether they were skipped or failed. */
export class GateLedger {
  readonly #entries = new Map<string, LedgerEntry>();
  /** Set by the end-of-run reporter when it is loaded: until then each skip is also warned about at once. */
  reporting = false;

  record(missing: string, outcome: "skip" | "fail", specs: number): void {
    const entry = this.#entries.get(missing);
    if (entry) {
      entry.specs += specs;
      if (outcome === "fail") entry.outcome = "fail";
    } else this.#entries.set(missing, { outcome, specs });
  }

  /**
   * The one line for the end of the run, or undefined when nothing was missing: "Skipped N specs: A, B —
   * install and start them all with `bash .ci/run --services-only`" (under CI: "N specs could not run").
   */
  summary(): string | undefined {
    if (this.#entries.size === 0) return undefined;
    const entries = [...this.#entries.entries()];
    const failed = entries.some(([, entry]) => entry.outcome === "fail");
    const count = entries.reduce((sum, [, entry]) => sum + entry.specs, 0);
    const specs = `${count} spec${count === 1 ? "" : "s"}`;
    const what = entries.map(([missing]) => missing).join(", ");
    const head = failed ? `${specs} could not run under CI: ${what}` : `Skipped ${specs}: ${what}`;
    return `${head} — install and start them all with \`${INSTALL_COMMAND}\``;
  }
}

// On globalThis, so the reporter and the specs share one ledger even if a loader gives them two copies of
// this module.
const LEDGER_KEY = Symbol.for("stoat.spec.gateLedger");

/** The run's ledger. */
export function gateLedger(): GateLedger {
  const holder = globalThis as { [LEDGER_KEY]?: GateLedger };
  holder[LEDGER_KEY] ??= new GateLedger();
  return holder[LEDGER_KEY];
}

/** The slice of a mocha runnable this reads: a hook or a test, and the suite it is in. */
interface RunnableSlice {
  type?: string;
  title?: string;
  originalTitle?: string;
  parent?: { total(): number };
}

/** The slice of a mocha context this needs: `this` in a `before`/`beforeEach` hook or a test. */
export interface SkippableContext {
  skip(): never;
  test?: RunnableSlice;
}

/** The specs a skip in this context marks pending: a `before all` hook's whole suite, else the one test. */
export function specsGatedBy(ctx: SkippableContext): number {
  const runnable = ctx.test;
  if (runnable?.type !== "hook") return 1;
  const title = runnable.originalTitle ?? runnable.title ?? "";
  return title.startsWith('"before all" hook') ? (runnable.parent?.total() ?? 1) : 1;
}

export interface GateOptions {
  /** Defaults to the run's ledger. */
  ledger?: GateLedger;
  /** Where the one-line warning goes when no end-of-run reporter is loaded; defaults to console.warn. */
  warn?: (line: string) => void;
}

const warned = new Set<string>();

/**
 * Every spec's gate: returns when nothing is missing; otherwise records what is missing for the summary,
 * then throws under CI or calls `ctx.skip()` so the suite is reported pending.
 */
export function gate(
  ctx: SkippableContext,
  decision: ServiceDecision | BinaryDecision,
  options: GateOptions = {},
): void {
  if (decision.action === "run") return;
  const ledger = options.ledger ?? gateLedger();
  ledger.record(decision.missing, decision.action, specsGatedBy(ctx));
  if (decision.action === "fail") throw decision.error;
  // Without the reporter (a mocha run without .mocharc.json) the reason would go unsaid: say it now.
  if (!ledger.reporting) {
    const line = `[spec] skipping: ${decision.reason}; ${INSTALL_COMMAND} installs and starts it`;
    if (options.warn) options.warn(line);
    else if (!warned.has(line)) {
      warned.add(line);
      console.warn(line);
    }
  }
  ctx.skip();
}

export interface UseServiceOptions extends CheckOptions, GateOptions {}

/** For a `before` hook: returns when the service answers; otherwise fails under CI, else skips the suite. */
export async function useService(
  ctx: SkippableContext,
  name: ServiceName,
  options: UseServiceOptions = {},
): Promise<void> {
  gate(ctx, await checkService(name, options), options);
}

export interface UseBinaryOptions extends CheckBinaryOptions, GateOptions {}

/**
 * For a `before` hook of a spec that starts a program itself: returns the program's path when it is
 * installed; otherwise fails under CI, else skips the suite.
 */
export function useBinary(ctx: SkippableContext, name: BinaryName, options: UseBinaryOptions = {}): string {
  const decision = checkBinary(name, options);
  gate(ctx, decision, options);
  return (decision as { path: string }).path;
}

/**
 * Without a mocha context: resolves when the service answers, throws otherwise (naming the service and
 * address). With a context, the same as `useService`.
 */
export async function requireService(
  name: ServiceName,
  ctx?: SkippableContext,
  options: UseServiceOptions = {},
): Promise<void> {
  if (ctx) return useService(ctx, name, options);
  const decision = await checkService(name, options);
  if (decision.action === "run") return;
  throw decision.action === "fail" ? decision.error : new Error(decision.reason);
}
