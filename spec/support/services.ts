import net from "node:net";

/**
 * The external services the store specs talk to, and what to do when one is not reachable (issue 3, point 6):
 * under CI an unreachable service is a failure, so CI can never pass by skipping; on a developer's machine the
 * suite is marked pending and a one-line warning says why (mocha 12's `this.skip()` takes no reason and the
 * spec reporter prints only "- title", so the reason goes to stderr).
 *
 *   before(async function () {
 *     await useService(this, "redis");
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

export type ServiceDecision =
  | { action: "run"; address: ServiceAddress }
  | { action: "fail"; address: ServiceAddress; error: Error }
  | { action: "skip"; address: ServiceAddress; reason: string };

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
  if (isCI(env)) {
    return {
      action: "fail",
      address,
      error: new Error(`${reason}: under CI an unreachable service is a failure, not a skip`),
    };
  }
  return { action: "skip", address, reason };
}

export interface UseServiceOptions extends CheckOptions {
  /** Where the one-line warning goes; defaults to console.warn. */
  warn?: (line: string) => void;
}

/** The slice of a mocha context this needs: `this` in a `before`/`beforeEach` hook. */
export interface SkippableContext {
  skip(): never;
}

const warned = new Set<string>();

/**
 * For a `before` hook: returns when the service answers; otherwise throws under CI, or warns once and
 * calls `ctx.skip()` so the suite is reported pending.
 */
export async function useService(
  ctx: SkippableContext,
  name: ServiceName,
  options: UseServiceOptions = {},
): Promise<void> {
  const decision = await checkService(name, options);
  if (decision.action === "run") return;
  if (decision.action === "fail") throw decision.error;
  const line = `[spec] skipping ${name} specs: ${decision.reason}; start it (bash .ci/run --services-only) or set ${SERVICE_ENV[name]}`;
  if (options.warn) options.warn(line);
  else if (!warned.has(line)) {
    warned.add(line);
    console.warn(line);
  }
  ctx.skip();
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
