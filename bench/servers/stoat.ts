// Stoat, as a user configures it (default middleware), on BENCH_STORE: cookie, redis, database-sqlite (a
// temporary file) or database-postgres (a table unique to the run, installed here and dropped on stop).
// GET /read answers a hot session's keys (serve.ts, hotRead).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import knex from "knex";
import { Application, Handler, type SessionOptions } from "stoat";
import {
  hotRead,
  hotWrite,
  MODE,
  next,
  POSTGRES_URL,
  PREFIX,
  REDIS_URL,
  SECRET,
  STORE,
  serve,
  TTL_SECONDS,
  tableFor,
} from "./serve.js";

class Bench extends Handler {
  async seed() {
    this.session.set("n", "0");
    this.json({ n: "0" });
  }
  async work() {
    if (MODE === "untouched") {
      this.json({ n: "0" });
      return;
    }
    if (MODE === "hot") {
      const n = hotWrite(
        this.query,
        (key) => this.session.get(key),
        (key, value) => this.session.set(key, value),
      );
      this.json({ n });
      return;
    }
    const n = next(this.session.get("n"));
    if (MODE === "rw") this.session.set("n", n);
    this.json({ n });
  }
  async read() {
    this.respond(hotRead(this.session.entries()), { contentType: "application/json" });
  }
}

// One table per server process: the read+write, read-only and hot servers of a run each drop theirs on stop.
const table = tableFor(PREFIX, `stoat_${MODE}`);
const sqliteDir = STORE === "database-sqlite" ? mkdtempSync(join(tmpdir(), "stoat-bench-")) : undefined;

function storeOptions(): [string, SessionOptions] {
  if (STORE === "redis") return ["redis", { url: REDIS_URL, namespace: `${PREFIX}:stoat` }];
  if (STORE === "database-sqlite") return ["database", { url: `sqlite://${sqliteDir}/s.sqlite3`, table }];
  if (STORE === "database-postgres") return ["database", { url: POSTGRES_URL, table }];
  return ["cookie", {}];
}

const [store, options] = storeOptions();
const app = Application.configure((config) => {
  config.routes = (r) => {
    r.get("/seed", Bench, "seed");
    r.get("/", Bench, "work");
    r.get("/read", Bench, "read");
  };
  config.session.store = store;
  config.session.options = { ...options, secret: SECRET, expireAfter: TTL_SECONDS };
});
if (store === "database") await app.sessions.install();

await serve(app.callback(), async () => {
  await app.close();
  if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
  if (STORE !== "database-postgres") return;
  const db = knex({ client: "pg", connection: POSTGRES_URL, pool: { min: 0, max: 1 } });
  await db.schema.dropTableIfExists(table).finally(() => db.destroy());
});
