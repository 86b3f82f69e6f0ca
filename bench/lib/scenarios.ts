// The scenarios of `npm run bench`, in the order they run and are listed: each is one server process
// (bench/servers/*.ts with BENCH_MODE and BENCH_STORE) loaded at GET /. A hot scenario's connections share one
// session and each request sets a key of its own in it (lib/hot.ts).

import { join } from "node:path";
import { BENCH_DIR } from "./paths.js";

export interface Scenario {
  id: string;
  label: string;
  /** The server script (an absolute path). */
  script: string;
  env: { BENCH_MODE: "rw" | "ro" | "untouched" | "hot"; BENCH_STORE?: string };
  /** Carries a session: each connection gets its own, from GET /seed, before it is loaded. */
  session: boolean;
  /** One session for every connection (GET /seed once), each request setting its own key; lost updates counted. */
  hot: boolean;
  /** Uses Redis (the run deletes its keys after) / PostgreSQL. */
  services: ReadonlyArray<"redis" | "postgres">;
  /** The bare Redis handler doing the same Redis work: the second ratio column divides by it. */
  redisBaseline?: string;
}

type Mode = Scenario["env"]["BENCH_MODE"];
const GET_SET = "bare-redis-get-set";
const GET = "bare-redis-get";
const FLOOR = "bare-redis-floor";

export const BARE_KOA = "bare-koa";
export const BARE_FASTIFY = "bare-fastify";

/**
 * One scenario: `bench/servers/<server>.ts` in `mode`; a session unless untouched; Redis if a baseline or
 * `redis`, PostgreSQL if `postgres`.
 */
function scenario(
  id: string,
  label: string,
  server: string,
  mode: Mode,
  extra: { store?: string; redisBaseline?: string; redis?: boolean; postgres?: boolean } = {},
): Scenario {
  return {
    id,
    label,
    script: join(BENCH_DIR, "servers", `${server}.ts`),
    env: { BENCH_MODE: mode, ...(extra.store ? { BENCH_STORE: extra.store } : {}) },
    session: mode !== "untouched",
    hot: mode === "hot",
    services: [
      ...(extra.redisBaseline || extra.redis ? ["redis" as const] : []),
      ...(extra.postgres ? ["postgres" as const] : []),
    ],
    ...(extra.redisBaseline ? { redisBaseline: extra.redisBaseline } : {}),
  };
}

export const SCENARIOS: readonly Scenario[] = [
  scenario(BARE_KOA, "bare Koa", "bare_koa", "untouched"),
  scenario("stoat-cookie-rw", "Stoat cookie read+write", "stoat", "rw", { store: "cookie" }),
  scenario("stoat-cookie-ro", "Stoat cookie read-only", "stoat", "ro", { store: "cookie" }),
  scenario("stoat-cookie-untouched", "Stoat cookie untouched", "stoat", "untouched", { store: "cookie" }),
  scenario("koa-session-cookie-rw", "koa-session cookie read+write", "koa_session", "rw", {
    store: "cookie",
  }),
  scenario("koa-session-cookie-ro", "koa-session cookie read-only", "koa_session", "ro", { store: "cookie" }),
  scenario("iron-session-rw", "iron-session read+write", "iron_session", "rw"),
  // The sealed-cookie peer on another framework, read against its own bare framework (targets.ts).
  scenario(BARE_FASTIFY, "bare Fastify", "bare_fastify", "untouched"),
  scenario(
    "fastify-secure-session-rw",
    "Fastify + @fastify/secure-session read+write",
    "fastify_secure_session",
    "rw",
  ),
  scenario(
    "fastify-secure-session-ro",
    "Fastify + @fastify/secure-session read-only",
    "fastify_secure_session",
    "ro",
  ),
  scenario("stoat-redis-rw", "Stoat redis read+write", "stoat", "rw", {
    store: "redis",
    redisBaseline: GET_SET,
  }),
  scenario("stoat-redis-ro", "Stoat redis read-only", "stoat", "ro", { store: "redis", redisBaseline: GET }),
  scenario("koa-session-redis-rw", "koa-session + Redis read+write", "koa_session", "rw", {
    store: "redis",
    redisBaseline: GET_SET,
  }),
  scenario(
    "express-session-redis-rw",
    "express-session + connect-redis read+write",
    "express_session",
    "rw",
    {
      redisBaseline: GET_SET,
    },
  ),
  scenario(GET_SET, "bare Koa + Redis GET+SET", "bare_redis", "rw", { redisBaseline: GET_SET }),
  scenario(GET, "bare Koa + Redis GET", "bare_redis", "ro", { redisBaseline: GET }),
  // Not a target's baseline: what every read+write must do under the contract, written by hand (NOTES.md).
  scenario(FLOOR, "bare Koa + Redis contract floor", "redis_floor", "rw", {
    redisBaseline: GET_SET,
  }),
  // One session shared by all connections, each request setting its own key (lib/hot.ts).
  scenario("stoat-redis-hot", "Stoat redis hot session", "stoat", "hot", { store: "redis", redis: true }),
  scenario("koa-session-redis-hot", "koa-session + Redis hot session", "koa_session", "hot", {
    store: "redis",
    redis: true,
  }),
  scenario(
    "express-session-redis-hot",
    "express-session + connect-redis hot session",
    "express_session",
    "hot",
    { redis: true },
  ),
  scenario("stoat-sqlite-rw", "Stoat database (SQLite) read+write", "stoat", "rw", {
    store: "database-sqlite",
  }),
  scenario("stoat-sqlite-ro", "Stoat database (SQLite) read-only", "stoat", "ro", {
    store: "database-sqlite",
  }),
  scenario("stoat-sqlite-hot", "Stoat database (SQLite) hot session", "stoat", "hot", {
    store: "database-sqlite",
  }),
  // The database floor (the store's work by hand on the raw driver) and one SELECT (servers/sql_*.ts).
  scenario("bare-sqlite-floor", "bare Koa + SQLite contract floor", "sql_floor", "rw", { store: "sqlite" }),
  scenario("bare-sqlite-select", "bare Koa + SQLite SELECT", "bare_sql", "ro", { store: "sqlite" }),
  scenario("stoat-postgres-rw", "Stoat database (PostgreSQL) read+write", "stoat", "rw", {
    store: "database-postgres",
    postgres: true,
  }),
  scenario("stoat-postgres-ro", "Stoat database (PostgreSQL) read-only", "stoat", "ro", {
    store: "database-postgres",
    postgres: true,
  }),
  scenario("stoat-postgres-hot", "Stoat database (PostgreSQL) hot session", "stoat", "hot", {
    store: "database-postgres",
    postgres: true,
  }),
  scenario(
    "express-session-postgres-rw",
    "express-session + connect-pg-simple read+write",
    "express_session",
    "rw",
    { store: "postgres", postgres: true },
  ),
  scenario("bare-postgres-floor", "bare Koa + PostgreSQL contract floor", "sql_floor", "rw", {
    store: "postgres",
    postgres: true,
  }),
  scenario("bare-postgres-select", "bare Koa + PostgreSQL SELECT", "bare_sql", "ro", {
    store: "postgres",
    postgres: true,
  }),
];

/** The scenarios named in `--only` (all when none), in the list's order; an unknown id is an error. */
export function pickScenarios(only: readonly string[]): Scenario[] {
  const unknown = only.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0)
    throw new Error(
      `unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.id).join(", ")}`,
    );
  return SCENARIOS.filter((s) => only.length === 0 || only.includes(s.id));
}
