import { expect } from "chai";
import type { Knex } from "knex";
import { type Application, ConfigError, Handler, type RoutesDefinition, type SessionOptions } from "stoat";
import request from "supertest";
import { newSessionId, privateId } from "../../../../src/session/ids.js";
import type { Database } from "../../../../src/session/stores/database/connection.js";
import { openDatabase } from "../../../../src/session/stores/database/connection.js";
import { Clock, cookieValue, testApp } from "../../../support/app.js";
import { useService } from "../../../support/services.js";
import { DIALECTS, type DialectCase, dropTables, rawDatabase, uniqueTable } from "./dialects.js";

// app.sessions on the `database` store, and the table layouts it supports: install (new, renamed, legacy,
// idempotent), expire (batches, progress, dry run), listForUser's notion of live.

class Probe extends Handler {
  async read() {
    this.json(this.session.toJSON());
  }
  async set() {
    this.session.set(this.params.k ?? "a", this.params.v ?? "1");
    this.json({});
  }
}
const routes: RoutesDefinition = (r) => {
  r.get("/read", Probe, "read");
  r.get("/set", Probe, "set");
};
const cookie = (id: string) => `_stoat_session=${id}`;

for (const dialect of DIALECTS) {
  describe(`app.sessions and table layouts (${dialect.name})`, function () {
    this.timeout(60000);
    const tables: string[] = [];
    const apps: Application[] = [];
    let raw: Knex;
    let db: Database;
    let clock: Clock;

    function table(prefix: string): string {
      const name = uniqueTable(prefix);
      tables.push(name);
      return name;
    }
    function app(options: SessionOptions): Application {
      const made = testApp({ routes, clock, store: "database", options: { url: dialect.url, ...options } });
      apps.push(made);
      return made;
    }

    before(async function () {
      if (dialect.service) await useService(this, dialect.service);
      raw = rawDatabase(dialect);
      // Times in the columns' own format, for rows the specs insert by hand.
      db = await openDatabase({ url: dialect.url, poolSize: 2, timeoutMs: 5000, table: "unused" });
    });
    beforeEach(() => {
      clock = new Clock();
      clock.now = Date.now();
    });
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((a) => a.close()));
    });
    after(async () => {
      await db?.close();
      if (raw) await dropTables(raw, tables).finally(() => raw.destroy());
    });

    it("install creates the table and its indexes; a second run finds everything and changes nothing", async () => {
      const name = table("inst");
      const sessions = app({ table: name }).sessions;
      const first = await sessions.install();
      expect(first[0]).to.equal(
        `created table ${name} (${dbName(dialect)}): id (primary key, auto-increment), session_id (unique), data, user_id, created_at, updated_at, expires_at`,
      );
      expect(first.slice(1)).to.deep.equal([
        `created index ${name}_user_id_idx on user_id`,
        `created index ${name}_expires_at_idx on expires_at`,
      ]);
      const second = await sessions.install();
      expect(second).to.deep.equal([
        `found table ${name} (${dbName(dialect)})`,
        `found unique index ${name}_session_id_uq on session_id`,
        `found index ${name}_user_id_idx on user_id`,
        `found index ${name}_expires_at_idx on expires_at`,
      ]);
      expect(await sessions.install()).to.deep.equal(second);
      const columns = await raw(name).columnInfo();
      expect(Object.keys(columns)).to.have.members([
        "id",
        "session_id",
        "data",
        "user_id",
        "created_at",
        "updated_at",
        "expires_at",
      ]);
      if (dialect.name === "mariadb") expect(columns.data!.type).to.equal("mediumtext");
      expect(columns.user_id!.nullable).to.equal(true);
    });

    it("renamed table and columns (table, primaryKey, sessionIdColumn, dataColumn) are created and used", async () => {
      const name = table("ren");
      const options = { table: name, primaryKey: "pk", sessionIdColumn: "sid", dataColumn: "payload" };
      const renamed = app(options);
      const lines = await renamed.sessions.install();
      expect(lines[0]).to.include("pk (primary key, auto-increment), sid (unique), payload, user_id");
      expect(await renamed.sessions.install()).to.include(`found unique index ${name}_sid_uq on sid`);
      const http = request(renamed.callback());
      const id = cookieValue(await http.get("/set?k=user_id&v=5"))!;
      expect((await http.get("/read").set("Cookie", cookie(id))).body).to.deep.equal({ user_id: "5" });
      const row = await raw(name).where("sid", privateId(id)).first();
      expect(row.payload).to.match(/^em1:/);
      expect(Number(row.pk)).to.be.a("number").above(0);
      expect(await renamed.sessions.listForUser("5")).to.have.length(1);
    });

    it("primaryKey: false creates a table keyed by the session id, with no id column", async () => {
      const name = table("pkf");
      const keyed = app({ table: name, primaryKey: false });
      expect((await keyed.sessions.install())[0]).to.include(": session_id (primary key), data, user_id");
      expect(await keyed.sessions.install()).to.include(
        `found unique index ${pkIndexName(dialect, name)} on session_id`,
      );
      expect(Object.keys(await raw(name).columnInfo())).to.not.include("id");
      const http = request(keyed.callback());
      const id = cookieValue(await http.get("/set?k=a&v=1"))!;
      expect((await http.get("/read").set("Cookie", cookie(id))).body).to.deep.equal({ a: "1" });
    });

    it("a legacy table (session_id primary key, no id, no user_id or timestamps): a clear error until install adds the columns", async () => {
      const name = table("leg");
      await raw.schema.createTable(name, (t) => {
        t.string("session_id", 255).primary();
        t.text("data").notNullable();
      });
      const legacy = app({ table: name, primaryKey: "session_id" });
      const errors: unknown[] = [];
      legacy.koa.on("error", (error) => errors.push(error));
      const http = request(legacy.callback());
      expect((await http.get("/set")).status).to.equal(500);
      expect(errors[0]).to.be.instanceOf(ConfigError);
      expect((errors[0] as Error).message).to.include("sessions:install");

      const lines = await legacy.sessions.install();
      expect(lines).to.deep.equal([
        `found table ${name} (${dbName(dialect)})`,
        "added column user_id",
        "added column created_at",
        "added column updated_at",
        "added column expires_at",
        `found unique index ${pkIndexName(dialect, name)} on session_id`,
        `created index ${name}_user_id_idx on user_id`,
        `created index ${name}_expires_at_idx on expires_at`,
      ]);
      const id = cookieValue(await http.get("/set?k=user_id&v=9"))!;
      await Promise.all([
        http.get("/set?k=x&v=1").set("Cookie", cookie(id)),
        http.get("/set?k=y&v=2").set("Cookie", cookie(id)),
      ]);
      expect((await http.get("/read").set("Cookie", cookie(id))).body).to.deep.equal({
        user_id: "9",
        x: "1",
        y: "2",
      });
      // A row written before install (no expires_at) is left alone by expire.
      await raw(name).insert({ session_id: privateId(newSessionId()), data: "legacy" });
      expect(await legacy.sessions.expire({ now: clock.now + 1209600 * 1000 })).to.equal(1);
      expect(await raw(name).count({ n: "*" })).to.deep.equal([{ n: countOf(dialect, 1) }]);
    });

    it("expire deletes rows past expires_at in batches, reports progress, and counts only on a dry run", async () => {
      const name = table("exp");
      const sessions = app({ table: name }).sessions;
      await sessions.install();
      const now = clock.now;
      const rows = Array.from({ length: 2600 }, (_, i) => ({
        session_id: privateId(newSessionId()),
        data: "x",
        created_at: db.toTime(now - 86_400_000),
        updated_at: db.toTime(now - 86_400_000),
        // 2000 expired (the last one exactly now), 600 live.
        expires_at: db.toTime(i < 2000 ? now - i : now + 1000 + i),
      }));
      await raw.batchInsert(name, rows, 500);

      const dryProgress: [number, number][] = [];
      expect(
        await sessions.expire({ now, dryRun: true, onProgress: (d, t) => dryProgress.push([d, t]) }),
      ).to.equal(2000);
      expect(dryProgress).to.deep.equal([[0, 2000]]);
      expect(await raw(name).count({ n: "*" })).to.deep.equal([{ n: countOf(dialect, 2600) }]);

      const progress: [number, number][] = [];
      expect(
        await sessions.expire({ now, batchSize: 300, onProgress: (d, t) => progress.push([d, t]) }),
      ).to.equal(2000);
      expect(progress).to.deep.equal([300, 600, 900, 1200, 1500, 1800, 2000].map((d) => [d, 2000]));
      expect(await raw(name).count({ n: "*" })).to.deep.equal([{ n: countOf(dialect, 600) }]);
      expect(await sessions.expire({ now })).to.equal(0);
    });

    it("listForUser lists live sessions only; revokeAllForUser without except ends them all", async () => {
      const name = table("list");
      const sessions = app({ table: name }).sessions;
      await sessions.install();
      const row = (userId: string, expiresIn: number) => ({
        session_id: privateId(newSessionId()),
        data: "x",
        user_id: userId,
        created_at: db.toTime(Date.now()),
        updated_at: db.toTime(Date.now()),
        expires_at: db.toTime(Date.now() + expiresIn),
      });
      await raw(name).insert([row("3", 3_600_000), row("3", -1000), row("4", 3_600_000)]);
      expect(await sessions.listForUser("3")).to.have.length(1);
      expect(await sessions.revokeAllForUser("3")).to.equal(2);
      expect(await sessions.listForUser("3")).to.deep.equal([]);
      expect(await sessions.listForUser("4")).to.have.length(1);
    });
  });
}

function dbName(dialect: DialectCase): string {
  return dialect.name === "mariadb" ? "mysql" : dialect.name;
}

/** How each database names the index behind a primary key. */
function pkIndexName(dialect: DialectCase, table: string): string {
  if (dialect.name === "postgres") return `${table}_pkey`;
  if (dialect.name === "mariadb") return "PRIMARY";
  return `sqlite_autoindex_${table}_1`;
}

/** COUNT(*) as each driver returns it (pg: a string, for bigint). */
function countOf(dialect: DialectCase, n: number): number | string {
  return dialect.name === "postgres" ? String(n) : n;
}
