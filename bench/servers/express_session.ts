// express-session on BENCH_STORE redis (connect-redis on node-redis, the default) or postgres
// (connect-pg-simple on its own pg pool, over a table this server creates from the package's table.sql and
// drops on stop), each as its README sets it up (resave and saveUninitialized off). ETag and X-Powered-By are
// off so the answer is the size Koa's is.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import pgSession from "connect-pg-simple";
import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import pg from "pg";
import { redisClient } from "./redis_client.js";
import {
  body,
  hotRead,
  hotWrite,
  MODE,
  next,
  POSTGRES_URL,
  PREFIX,
  SECRET,
  STORE,
  serve,
  TTL_SECONDS,
  tableFor,
} from "./serve.js";

declare module "express-session" {
  interface SessionData {
    n: string;
  }
}

/** connect-pg-simple's table.sql, for a table of this run's own name (its constraint and index renamed too). */
function pgTableSql(table: string): string {
  const sql = readFileSync(createRequire(import.meta.url).resolve("connect-pg-simple/table.sql"), "utf8");
  return sql
    .replace(/"session"/g, `"${table}"`)
    .replace(/"session_pkey"/g, `"${table}_pkey"`)
    .replace(/"IDX_session_expire"/g, `"${table}_expire"`);
}

async function pgStore() {
  const table = tableFor(PREFIX, "express");
  const pool = new pg.Pool({ connectionString: POSTGRES_URL });
  await pool.query(pgTableSql(table));
  const PgStore = pgSession(session);
  const store = new PgStore({ pool, tableName: table, ttl: TTL_SECONDS });
  const close = async () => {
    await store.close();
    await pool.query(`DROP TABLE IF EXISTS "${table}"`).finally(() => pool.end());
  };
  return { store, close };
}

async function redisStore() {
  const redis = await redisClient();
  const store = new RedisStore({ client: redis, prefix: `${PREFIX}:express:`, ttl: TTL_SECONDS });
  return { store, close: () => redis.close() };
}

const { store, close } = STORE === "postgres" ? await pgStore() : await redisStore();
const app = express();
app.set("etag", false);
app.disable("x-powered-by");
app.use(
  session({
    store,
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: TTL_SECONDS * 1000, httpOnly: true, sameSite: "lax", secure: false },
  }),
);
app.get("/seed", (req, res) => {
  req.session.n = "0";
  res.type("application/json").send(body("0"));
});
app.get("/read", (req, res) => {
  res.type("application/json").send(hotRead(Object.entries(req.session)));
});
app.get("/", (req, res) => {
  if (MODE === "hot") {
    const sess = req.session as unknown as Record<string, unknown>;
    const n = hotWrite(
      req.query,
      (key) => sess[key],
      (key, value) => {
        sess[key] = value;
      },
    );
    res.type("application/json").send(body(n));
    return;
  }
  const n = next(req.session.n);
  if (MODE === "rw") req.session.n = n;
  res.type("application/json").send(body(n));
});
await serve(app, close);
