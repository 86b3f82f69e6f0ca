// Shared pieces of the fault runs: services of the run's own (redis-server, memcached, a private
// PostgreSQL), app processes (bench/faults/server.ts under tsx) and bounded load.

import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort } from "../lib/net.js";
import { BENCH_DIR } from "../lib/paths.js";
import { collect, kill, startServer, waitFor } from "../lib/process.js";

export { freePort, kill };

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `stoat-fault-${prefix}-`));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** A redis-server of the run's own: append-only file, fsync on every write, no RDB snapshots. */
export async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    [
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
      ...["--appendonly", "yes", "--appendfsync", "always", "--save", ""],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await waitFor(child, collect(child), /Ready to accept connections/, 5000, "redis-server");
  return child;
}

/** A memcached of the run's own with `megabytes` of item memory. */
export async function startMemcached(port: number, megabytes: number): Promise<ChildProcess> {
  const asRoot = process.getuid?.() === 0 ? ["-u", "nobody"] : [];
  const child = spawn(
    "memcached",
    ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", String(megabytes), ...asRoot],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  // memcached prints nothing when ready: poll the port.
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`memcached exited (${child.exitCode})`);
    try {
      const { connect } = await import("node:net");
      await new Promise<void>((resolve, reject) => {
        const s = connect(port, "127.0.0.1", () => {
          s.destroy();
          resolve();
        });
        s.once("error", reject);
      });
      return child;
    } catch {
      if (Date.now() > deadline) throw new Error("memcached did not listen within 5 s");
      await sleep(25);
    }
  }
}

/** A private PostgreSQL cluster (initdb into `dir`, as the `postgres` user when run as root). */
export class PrivatePostgres {
  readonly bin: string;
  readonly data: string;
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    const base = "/usr/lib/postgresql";
    const versions = existsSync(base)
      ? readdirSync(base)
          .filter((v) => existsSync(join(base, v, "bin", "initdb")))
          .sort((a, b) => Number(b) - Number(a))
      : [];
    if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${base}/*/bin`);
    this.bin = join(base, versions[0]!, "bin");
    this.data = join(dir, "data");
  }
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }
  async #run(tool: string, args: string[]): Promise<string> {
    const asRoot = process.getuid?.() === 0;
    const [cmd, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", join(this.bin, tool), ...args]]
      : [join(this.bin, tool), args];
    const { stdout } = await promisify(execFile)(cmd, argv as string[], {
      encoding: "utf8",
      timeout: 30_000,
    });
    return stdout;
  }
  async init(): Promise<void> {
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
      chownSync(this.dir, uid, gid);
    }
    await this.#run("initdb", ["-D", this.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
  }
  async start(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=50`;
    await this.#run("pg_ctl", [
      "-D",
      this.data,
      "-o",
      opts,
      "-l",
      join(this.dir, "log"),
      "-w",
      "-t",
      "20",
      "start",
    ]);
  }
  /** pg_ctl stop: `fast` ends the sessions and shuts down cleanly. */
  async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
    await this.#run("pg_ctl", ["-D", this.data, "-m", mode, "-w", "-t", "20", "stop"]);
  }
  async running(): Promise<boolean> {
    try {
      await this.#run("pg_ctl", ["-D", this.data, "status"]);
      return true;
    } catch {
      return false;
    }
  }
  /** Client connections other than the one asking. */
  async clientConnections(): Promise<number> {
    const sql =
      "select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()";
    const out = await this.#run("psql", [
      "-h",
      this.dir,
      "-p",
      String(this.port),
      "-U",
      "postgres",
      "-tAc",
      sql,
    ]);
    return Number(out.trim());
  }
}

export interface AppProcess {
  child: ChildProcess;
  port: number;
  base: string;
  /** True while the process has not exited. */
  alive(): boolean;
  /** SIGTERM, then waits for it to exit by itself: code 0 and the CLOSED line mean a clean close. */
  stop(): Promise<{ clean: boolean; code: number | null; errors: Record<string, number>; output: string }>;
}

/** Starts bench/faults/server.ts in its own process (tsx) with the given store and session options. */
export async function startApp(store: string, options: Record<string, unknown>): Promise<AppProcess> {
  const { child, port, base, output } = await startServer(
    join(BENCH_DIR, "faults", "server.ts"),
    { FAULT_STORE: store, FAULT_OPTIONS: JSON.stringify(options), FAULT_PORT: "0" },
    `app (${store})`,
  );
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  return {
    child,
    port,
    base,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const code = await Promise.race([
        exited,
        sleep(15_000, undefined, { ref: false }).then(() => "timeout" as const),
      ]);
      if (code === "timeout") await kill(child);
      const text = output();
      const closed = /CLOSED (\{.*\})/.exec(text);
      return {
        clean: code === 0 && closed !== null,
        code: code === "timeout" ? null : code,
        errors: closed ? (JSON.parse(closed[1]!) as { errors: Record<string, number> }).errors : {},
        output: text,
      };
    },
  };
}

export interface Answer {
  at: number;
  status: number;
  retryAfter: string | null;
  body: string;
}

/** A browser-like client: keeps the session cookie it is given, drops it when it is cleared. */
export class Client {
  cookie: string | undefined;
  async get(url: string, timeoutMs = 5000): Promise<Answer> {
    const at = Date.now();
    try {
      const res = await fetch(url, {
        headers: this.cookie ? { cookie: `_stoat_session=${this.cookie}` } : {},
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = await res.text();
      for (const line of res.headers.getSetCookie()) {
        const m = /^_stoat_session=([^;]*)/.exec(line);
        if (m) this.cookie = m[1] || undefined;
      }
      return { at, status: res.status, retryAfter: res.headers.get("retry-after"), body };
    } catch {
      return { at, status: 0, retryAfter: null, body: "" }; // refused, reset or timed out
    }
  }
}

/**
 * Runs `clients` loops until `ms` have passed (each loop also capped at `maxPerClient` requests):
 * `step(client index, request index)` makes one request.
 */
export async function load(
  clients: number,
  ms: number,
  maxPerClient: number,
  step: (c: number, i: number) => Promise<void>,
  /** Stops earlier when this says so (still within `ms`). */
  done: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + ms;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < maxPerClient && Date.now() < deadline && !done(); i++) await step(c, i);
    }),
  );
}

export function tally(answers: readonly Answer[]): string {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return Object.entries(counts)
    .map(([status, n]) => `${n}x${status === "0" ? "neterr" : status}`)
    .join(" ");
}
