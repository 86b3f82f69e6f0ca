import { accessSync, constants, readdirSync, statSync } from "node:fs";
import net from "node:net";
import { delimiter, join } from "node:path";

// The services the bench specs talk to and the programs they start, and what to do when one is missing:
// the rule of Stoat's own specs (spec/support/services.ts there), kept small here because the bench is a
// package of its own. Under CI a missing one is a failure, so CI can never pass by skipping; elsewhere the
// suite is marked pending and one line on stderr says why.

export type ServiceName = "redis" | "postgres" | "mysql" | "memcache";

/** The variables and defaults are the ones the runs read (meter.ts, run.ts). */
const SERVICES: Readonly<Record<ServiceName, { env: string; url: string; port: number }>> = {
  redis: { env: "REDIS_URL", url: "redis://127.0.0.1:6379", port: 6379 },
  postgres: { env: "DATABASE_URL_PG", url: "postgres://postgres@127.0.0.1:5432/test", port: 5432 },
  mysql: { env: "DATABASE_URL_MYSQL", url: "mysql://root@127.0.0.1:3306/test", port: 3306 },
  // memcached's setting is host:port, not a URL.
  memcache: { env: "MEMCACHE_SERVER", url: "127.0.0.1:11211", port: 11211 },
};

/** The service's URL from its variable, or the local default (the same ones `npm run bench` reads). */
export function serviceUrl(name: ServiceName): string {
  return process.env[SERVICES[name].env]?.trim() || SERVICES[name].url;
}

/** `CI` set to anything but "", "0" or "false" counts (the CI runner sets CI=true). */
function isCI(): boolean {
  const value = (process.env.CI ?? "").trim().toLowerCase();
  return value !== "" && value !== "0" && value !== "false";
}

/** Plain TCP connect, bounded by a second: reachability only, no protocol. */
function reachable(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (problem?: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => finish("timeout after 1000ms"), 1000);
    socket.once("connect", () => finish());
    socket.once("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
  });
}

/** For a `before` hook: returns when the service answers; otherwise throws under CI, or skips the suite. */
export async function useService(ctx: { skip(): never }, name: ServiceName): Promise<void> {
  const setting = serviceUrl(name);
  const url = new URL(setting.includes("://") ? setting : `tcp://${setting}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = url.port ? Number(url.port) : SERVICES[name].port;
  const problem = await reachable(host, port);
  if (problem === undefined) return;
  // The address only: a URL may carry a password.
  const reason = `${name} is not reachable at ${host}:${port} (${problem})`;
  if (isCI()) throw new Error(`${reason}: under CI an unreachable service is a failure, not a skip`);
  console.warn(`[spec] skipping ${name} specs: ${reason}; start it or set ${SERVICES[name].env}`);
  ctx.skip();
}

export type BinaryName = "redis-server" | "memcached" | "postgres-server";

/** Debian's server programs, where faults/lib.ts's private PostgreSQL takes initdb and pg_ctl from. */
const POSTGRES_BIN_BASE = "/usr/lib/postgresql";

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Where each program may be, first hit wins: PATH, or the fixed place the fault runs start it from. */
function candidates(name: BinaryName): string[] {
  if (name === "postgres-server") {
    try {
      return readdirSync(POSTGRES_BIN_BASE).map((version) =>
        join(POSTGRES_BIN_BASE, version, "bin", "initdb"),
      );
    } catch {
      return [];
    }
  }
  return (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => join(dir, name));
}

/** For a `before` hook: returns when the program is installed; otherwise throws under CI, or skips the suite. */
export function useBinary(ctx: { skip(): never }, name: BinaryName): void {
  if (candidates(name).some(executable)) return;
  const reason =
    name === "postgres-server"
      ? `the PostgreSQL server programs (${POSTGRES_BIN_BASE}/*/bin/initdb) are not installed`
      : `${name} is not on PATH`;
  if (isCI()) throw new Error(`${reason}: under CI a missing program is a failure, not a skip`);
  console.warn(`[spec] skipping: ${reason}; install it (bash .ci/run --services-only does)`);
  ctx.skip();
}
