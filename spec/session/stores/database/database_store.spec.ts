import { expect } from "chai";
import type { Knex } from "knex";
import { ConfigError, SessionConflictError, SessionOverflowError, type SessionRecord } from "stoat";
import { newSessionId, privateId } from "../../../../src/session/ids.js";
import { RecordSealer } from "../../../../src/session/sealing/record_sealer.js";
import { defineSessionRow } from "../../../../src/session/stores/database/session_row.js";
import { tableLayout } from "../../../../src/session/stores/database/table.js";
import type { SaveContext } from "../../../../src/session/stores/store.js";
import { SECRET } from "../../../support/app.js";
import { useService } from "../../../support/services.js";
import { type BuiltStore, buildStore, DIALECTS, dropTables, rawDatabase, uniqueTable } from "./dialects.js";

// The `database` store below HTTP, on each dialect: what it reads and writes (counted in SQL statements),
// the merge of concurrent changes with compare-and-set, destroy wins, touch, the size limit, user_id, and
// the messages for a table that is missing or laid out differently.

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const LATER = T0 + 3_600_000;

function record(entries: Record<string, string> = {}): SessionRecord {
  return { data: new Map(Object.entries(entries)), flash: new Map(), createdAt: T0 };
}

/** What the middleware passes for a request that loaded the record and set (or deleted) these keys. */
function changed(entries: Record<string, string | undefined>, existing = true): SaveContext {
  return { existing, changes: { data: new Map(Object.entries(entries)), cleared: false } };
}

const NEW: SaveContext = { existing: false, changes: { data: new Map(), cleared: false } };

for (const dialect of DIALECTS) {
  describe(`database store (${dialect.name})`, function () {
    this.timeout(20000);
    const table = uniqueTable("store");
    const tables = [table];
    let built: BuiltStore;
    let raw: Knex;
    let sql: string[];
    const onQuery = (text: string) => sql.push(text);

    before(async function () {
      if (dialect.service) await useService(this, dialect.service);
      raw = rawDatabase(dialect);
      built = await buildStore(dialect, { table });
      await built.store.admin!.install();
      built.onStatement(onQuery);
    });
    beforeEach(() => {
      sql = [];
    });
    after(async () => {
      await built?.store.close();
      if (raw) await dropTables(raw, tables).finally(() => raw.destroy());
    });

    const row = (id: string) => raw(table).where("session_id", privateId(id)).first();

    /** Saves a new session with `entries` and loads it back, as a request would find it. */
    async function stored(entries: Record<string, string>, store = built.store) {
      const id = newSessionId();
      await store.save(record(entries), LATER, id, T0, NEW);
      const loaded = await store.load(id, T0);
      if (!loaded || !("record" in loaded)) throw new Error("not loaded");
      return { id, record: loaded.record };
    }

    async function dataOf(id: string, store = built.store): Promise<Record<string, string> | undefined> {
      const loaded = await store.load(id, T0);
      return loaded && "record" in loaded ? Object.fromEntries(loaded.record.data) : undefined;
    }

    it("reads a session with one query, by the session id column; a new session is one INSERT", async () => {
      const id = newSessionId();
      await built.store.save(record({ a: "1" }), LATER, id, T0, NEW);
      expect(sql).to.have.length(1);
      expect(sql[0]).to.match(/^insert into/i);
      sql = [];
      await built.store.load(id, T0);
      expect(sql).to.have.length(1);
      expect(sql[0]).to.match(/^select .*data.* from .* where .*session_id.* = (\?|\$1)$/i);
    });

    it("saves a loaded session with one UPDATE when nobody wrote it meanwhile", async () => {
      const { id, record: mine } = await stored({ a: "1" });
      sql = [];
      mine.data.set("b", "2");
      expect(await built.store.save(mine, LATER, id, T0, changed({ b: "2" }))).to.equal(id);
      expect(sql).to.have.length(1);
      expect(sql[0]).to.match(/^update .* where .*session_id.* and .*data/i);
      expect(await dataOf(id)).to.deep.equal({ a: "1", b: "2" });
    });

    it("merges two requests of two processes that read the same version: both keys survive, a deleted key stays deleted", async () => {
      const other = await buildStore(dialect, { table }); // another process over the same table
      try {
        const { id } = await stored({ a: "1", gone: "x" });
        const second = (await built.store.load(id, T0)) as { record: SessionRecord };
        const theirs = (await other.store.load(id, T0)) as { record: SessionRecord };
        theirs.record.data.set("theirs", "2");
        theirs.record.data.delete("gone");
        await other.store.save(theirs.record, LATER, id, T0, changed({ theirs: "2", gone: undefined }));
        second.record.data.set("mine", "1");
        sql = [];
        await built.store.save(second.record, LATER, id, T0, changed({ mine: "1" }));
        // The guarded UPDATE misses, the row is read again, the change is merged and written.
        expect(sql.map((s) => s.split(" ")[0]!.toLowerCase())).to.deep.equal(["update", "select", "update"]);
        expect(await dataOf(id)).to.deep.equal({ a: "1", mine: "1", theirs: "2" });
      } finally {
        await other.store.close();
      }
    });

    it("merges a request of this process onto the row it just wrote: one UPDATE, no miss, no read", async () => {
      const { id, record: first } = await stored({ a: "1", gone: "x" });
      const second = (await built.store.load(id, T0)) as { record: SessionRecord };
      first.data.set("mine", "1");
      first.data.delete("gone");
      await built.store.save(first, LATER, id, T0, changed({ mine: "1", gone: undefined }));
      second.record.data.set("theirs", "2");
      sql = [];
      await built.store.save(second.record, LATER, id, T0, changed({ theirs: "2" }));
      expect(sql.map((s) => s.split(" ")[0]!.toLowerCase())).to.deep.equal(["update"]);
      expect(await dataOf(id)).to.deep.equal({ a: "1", mine: "1", theirs: "2" });
    });

    it("keeps the flash and expireIn of the current row when the merging request left them alone", async () => {
      const { id, record: first } = await stored({ a: "1" });
      const second = (await built.store.load(id, T0)) as { record: SessionRecord };
      first.flash = new Map([["notice", "saved"]]);
      first.maxAge = 600;
      await built.store.save(first, LATER, id, T0, changed({}));
      second.record.data.set("b", "2");
      await built.store.save(second.record, LATER, id, T0, changed({ b: "2" }));
      const loaded = (await built.store.load(id, T0)) as { record: SessionRecord };
      expect([...loaded.record.flash]).to.deep.equal([["notice", "saved"]]);
      expect(loaded.record.maxAge).to.equal(600);
      expect(Object.fromEntries(loaded.record.data)).to.deep.equal({ a: "1", b: "2" });
    });

    it("destroy wins: saving a row destroyed meanwhile answers undefined and writes nothing", async () => {
      const { id, record: mine } = await stored({ a: "1" });
      await built.store.destroy(id);
      mine.data.set("b", "2");
      expect(await built.store.save(mine, LATER, id, T0, changed({ b: "2" }))).to.equal(undefined);
      expect(await row(id)).to.equal(undefined);
    });

    it("answers 409 (SessionConflictError) when the row keeps changing under it, and writes nothing of its own", async () => {
      const other = await buildStore(dialect, { table });
      let n = 0;
      // Every compare-and-set finds that another request wrote just before it.
      const Rows = defineSessionRow(built.db, tableLayout({ table }));
      const id = newSessionId();
      class Busy extends Rows {
        override async saveIfUnchanged(previous: string): Promise<boolean> {
          n += 1;
          await other.store.save(record({ a: String(n) }), LATER, id, T0);
          return super.saveIfUnchanged!(previous);
        }
      }
      const contended = await buildStore(dialect, { table }, { rows: Busy, maxAttempts: 3 });
      try {
        await contended.store.save(record({ a: "0" }), LATER, id, T0, NEW);
        const mine = ((await contended.store.load(id, T0)) as { record: SessionRecord }).record;
        mine.data.set("mine", "1");
        let error: unknown;
        try {
          await contended.store.save(mine, LATER, id, T0, changed({ mine: "1" }));
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(SessionConflictError);
        expect((error as SessionConflictError).status).to.equal(409);
        expect(n).to.equal(3);
        expect(await dataOf(id)).to.deep.equal({ a: "3" });
      } finally {
        await contended.store.close();
        await other.store.close();
      }
    });

    it("touch moves the expiry in the data and in expires_at with one guarded UPDATE", async () => {
      const { id, record: mine } = await stored({ a: "1" });
      sql = [];
      await built.store.touch(mine, LATER + 60_000, id, T0 + 60_000);
      expect(sql).to.have.length(1);
      expect(sql[0]).to.match(/^update .* where .*session_id.* and .*data/i);
      const loaded = (await built.store.load(id, T0)) as { expiresAt: number };
      expect(loaded.expiresAt).to.equal(LATER + 60_000);
      const stamp = (await row(id)).expires_at;
      expect(built.db.fromTime(stamp)!.getTime()).to.equal(LATER + 60_000);
    });

    it("touch never overwrites a change made meanwhile, nor brings back a destroyed row", async () => {
      const { id, record: stale } = await stored({ a: "1" });
      const fresh = ((await built.store.load(id, T0)) as { record: SessionRecord }).record;
      fresh.data.set("b", "2");
      await built.store.save(fresh, LATER, id, T0, changed({ b: "2" }));
      await built.store.touch(stale, LATER + 60_000, id, T0);
      expect(await dataOf(id)).to.deep.equal({ a: "1", b: "2" });

      const { id: gone, record: goneRecord } = await stored({ a: "1" });
      await built.store.destroy(gone);
      await built.store.touch(goneRecord, LATER + 60_000, gone, T0);
      expect(await row(gone)).to.equal(undefined);
    });

    it("copies userKey into user_id on every write, and clears it when the key goes", async () => {
      const { id, record: mine } = await stored({ user_id: "42" });
      expect((await row(id)).user_id).to.equal("42");
      mine.data.delete("user_id");
      await built.store.save(mine, LATER, id, T0, changed({ user_id: undefined }));
      expect((await row(id)).user_id).to.equal(null);
      const custom = await buildStore(dialect, { table }, { userKey: "account" });
      try {
        const other = await stored({ account: "acme", user_id: "ignored" }, custom.store);
        expect((await row(other.id)).user_id).to.equal("acme");
      } finally {
        await custom.store.close();
      }
    });

    it("keeps expires_at equal to the record's expiry, created_at from the insert, updated_at from the last write", async () => {
      const { id, record: mine } = await stored({ a: "1" });
      mine.data.set("b", "2");
      await built.store.save(mine, LATER + 5000, id, T0 + 5000, changed({ b: "2" }));
      const stamps = await row(id);
      const ms = (column: string) => built.db.fromTime(stamps[column])!.getTime();
      expect([ms("created_at"), ms("updated_at"), ms("expires_at")]).to.deep.equal([
        T0,
        T0 + 5000,
        LATER + 5000,
      ]);
    });

    describe("maxDataBytes", () => {
      const plain = new RecordSealer({ secrets: [SECRET], encrypt: false, serializer: "json" });
      const limit = plain.encode(record({ k: "x".repeat(100) }), LATER).length;

      it("stores data of exactly maxDataBytes; one byte more throws SessionOverflowError and writes nothing", async () => {
        const sized = await buildStore(
          dialect,
          { table },
          { encrypt: false, serializer: "json", maxDataBytes: limit },
        );
        try {
          const { id, record: mine } = await stored({ k: "x".repeat(100) }, sized.store);
          const before = (await row(id)).data;
          expect(Buffer.byteLength(before)).to.equal(limit);
          mine.data.set("k", "x".repeat(101));
          let error: unknown;
          try {
            await sized.store.save(mine, LATER, id, T0, changed({ k: "x".repeat(101) }));
          } catch (e) {
            error = e;
          }
          expect(error).to.be.instanceOf(SessionOverflowError);
          expect((error as Error).message)
            .to.include(`${limit + 1} bytes`)
            .and.include(`maxDataBytes (${limit})`);
          expect((await row(id)).data).to.equal(before);

          // A new session one byte over: no row at all. Bytes are UTF-8 bytes: "é" counts two.
          const id2 = newSessionId();
          let error2: unknown;
          try {
            await sized.store.save(record({ k: `${"x".repeat(99)}é` }), LATER, id2, T0, NEW);
          } catch (e) {
            error2 = e;
          }
          expect(error2).to.be.instanceOf(SessionOverflowError);
          expect(await row(id2)).to.equal(undefined);
        } finally {
          await sized.store.close();
        }
      });
    });

    it("a missing table is a ConfigError that says to run sessions:install, not an SQL error", async () => {
      const missing = await buildStore(dialect, { table: uniqueTable("missing") });
      try {
        let error: unknown;
        try {
          await missing.store.load(newSessionId(), T0);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as Error).message)
          .to.match(/the table "missing_\w+" does not exist/)
          .and.include("npx stoat sessions:install");
      } finally {
        await missing.store.close();
      }
    });

    it("a column the options name but the table lacks is a ConfigError naming the options", async () => {
      const wrong = await buildStore(dialect, { table, dataColumn: "payload" });
      try {
        let error: unknown;
        try {
          await wrong.store.load(newSessionId(), T0);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as Error).message)
          .to.include("lacks a column")
          .and.include("dataColumn");
        expect((error as Error).message).to.not.match(/select /i);
      } finally {
        await wrong.store.close();
      }
    });
  });
}
