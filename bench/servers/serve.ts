// What every bench server shares: its settings from the environment, the equal work (a string counter
// `n` in the session, answered as `{"n":"<value>"}`), and listening on 127.0.0.1 with a clean stop.

import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * rw: read `n` and write n+1; ro: read `n`; untouched: no session at all; hot: one session shared by every
 * connection, each request setting its connection's key (hotWrite).
 */
export type Mode = "rw" | "ro" | "untouched" | "hot";

export const MODE = (process.env.BENCH_MODE ?? "rw") as Mode;
export const STORE = process.env.BENCH_STORE ?? "cookie";
/** The same 64-character secret everywhere (the orchestrator passes it; this default serves the specs). */
export const SECRET =
  process.env.BENCH_SECRET ?? "bench-secret-0123456789abcdef0123456789abcdef0123456789abcdef0123";
/** Unique to the run: Redis keys and tables start with it, so the run cleans up only its own. */
export const PREFIX = process.env.BENCH_PREFIX ?? `bench-${process.pid}`;
export const REDIS_URL = process.env.REDIS_URL?.trim() || "redis://127.0.0.1:6379";
export const POSTGRES_URL = process.env.DATABASE_URL_PG?.trim() || "postgres://postgres@127.0.0.1:5432/test";
/** Session lifetime, the same for every store and cookie (Stoat's expireAfter, koa-session's maxAge, ...). */
export const TTL_SECONDS = 3600;

/** A server's table for a run (`name`: which server's): the prefix made a valid SQL name. */
export const tableFor = (prefix: string, name = "stoat") => `${prefix.replace(/\W/g, "_")}_${name}`;

/** The counter after this request's work: +1 for rw, unchanged for ro. */
export function next(stored: unknown): string {
  const n = Number(stored ?? 0);
  return String(MODE === "rw" ? n + 1 : n);
}

export const body = (n: string) => JSON.stringify({ n });

/** A hot request's query: its connection `c`, its sequence number `s`, the last `s` of `c` acknowledged `e`. */
export interface HotQuery {
  c?: unknown;
  s?: unknown;
  e?: unknown;
}

/**
 * Acknowledged writes a later request of the same connection did not find in the session (this process), and
 * per connection the last one counted: a loss is counted once, however many requests (each answered 409, say)
 * go on expecting the same write.
 */
let missed = 0;
const counted = new Map<string, string>();
const DIGITS = /^-?\d{1,15}$/;

/**
 * The hot request's work on a shared session (`get`/`set` are the library's): connection c's key `h<c>` gets
 * the request's sequence number. The connection sent its previous request only after that one's answer, so
 * the key must hold at least `e`, the last number it had acknowledged (2xx): less, or nothing, is a lost update
 * (or a stale read), counted here; more is a later request whose answer never came. Each connection keeps
 * one key, so the session stays the size of one key per connection however long the run. Returns `s`, the
 * answer's `n`.
 */
export function hotWrite(
  query: HotQuery,
  get: (key: string) => unknown,
  set: (key: string, value: string) => void,
): string {
  const [c, s, e] = [query.c, query.s, query.e].map(String) as [string, string, string];
  if (!DIGITS.test(c) || !DIGITS.test(s) || !DIGITS.test(e)) throw new Error(`bad hot query ${c} ${s} ${e}`);
  const key = `h${c}`;
  const held = get(key);
  const lost = Number(e) >= 0 && (held === undefined || held === null || Number(held) < Number(e));
  if (lost && counted.get(c) !== e) {
    missed++;
    counted.set(c, e);
  }
  set(key, s);
  return s;
}

/**
 * GET /read in hot mode: the misses so far, the last miss counted per connection, and the session's hot keys
 * (`entries` are the session's).
 */
export function hotRead(entries: Iterable<[string, unknown]>): string {
  const keys: Record<string, string> = {};
  for (const [key, value] of entries) if (/^h\d+$/.test(key)) keys[key] = String(value);
  return JSON.stringify({ missed, counted: Object.fromEntries(counted), keys });
}

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
