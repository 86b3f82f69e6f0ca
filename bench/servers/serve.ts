// What every bench server shares: its settings from the environment, the equal work (a string counter
// `n` in the session, answered as `{"n":"<value>"}`), and listening on 127.0.0.1 with a clean stop.

import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";

/** rw: read `n` and write n+1; ro: read `n`; untouched: no session at all. */
export type Mode = "rw" | "ro" | "untouched";

export const MODE = (process.env.BENCH_MODE ?? "rw") as Mode;
export const STORE = process.env.BENCH_STORE ?? "cookie";
/** The same 64-character secret everywhere (the orchestrator passes it; this default serves the specs). */
export const SECRET =
  process.env.BENCH_SECRET ?? "bench-secret-0123456789abcdef0123456789abcdef0123456789abcdef0123";
/** Unique to the run: Redis keys and tables start with it, so the run cleans up only its own. */
export const PREFIX = process.env.BENCH_PREFIX ?? `bench-${process.pid}`;
export const REDIS_URL = process.env.REDIS_URL?.trim() || "redis://127.0.0.1:6379";
/** Session lifetime, the same for every store and cookie (Stoat's expireAfter, koa-session's maxAge, ...). */
export const TTL_SECONDS = 3600;

/** The database store's table for a run: the prefix made a valid SQL name. */
export const tableFor = (prefix: string) => `${prefix.replace(/\W/g, "_")}_stoat`;

/** The counter after this request's work: +1 for rw, unchanged for ro. */
export function next(stored: unknown): string {
  const n = Number(stored ?? 0);
  return String(MODE === "rw" ? n + 1 : n);
}

export const body = (n: string) => JSON.stringify({ n });

/**
 * Listens on 127.0.0.1 (a free port), prints `LISTENING <port>`; on SIGTERM or SIGINT stops taking
 * connections, runs `cleanup` (store connections, tables) and exits.
 */
export async function serve(listener: RequestListener, cleanup: () => Promise<unknown> = async () => {}) {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  console.log(`LISTENING ${(server.address() as AddressInfo).port}`);
  const stop = () => {
    server.close();
    server.closeAllConnections();
    cleanup().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`cleanup failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  // SIGINT too: Ctrl-C on `npm run bench` reaches every server, and the run's table should still be dropped.
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
