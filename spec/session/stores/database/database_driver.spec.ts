import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import type { Knex } from "knex";
import { ConfigError, type SessionRecord } from "stoat";
import { newSessionId } from "../../../../src/session/ids.js";
import { resolveSessionOptions } from "../../../../src/session/options.js";
import { databaseStoreFactory } from "../../../../src/session/stores/database/factory.js";
import type { ServerStore } from "../../../../src/session/stores/server_store.js";
import type { SaveContext } from "../../../../src/session/stores/store.js";
import { SECRET } from "../../../support/app.js";
import { useService } from "../../../support/services.js";
import { DIALECTS, type DialectCase, dropTables, rawDatabase, uniqueTable } from "./dialects.js";

// The request path of the `database` store (no sessionClass) on each dialect, counted where the driver
// sends statements: pg's Client#query, mysql2's Connection#execute and #query, sqlite3's Statement and
// Database calls. Each operation is one statement (a cycleKey two: the DELETE, then the INSERT), each a
// prepared one run again (a pg named statement, mysql2 execute, a sqlite3 Statement prepared once), and
// Knex is not even loaded until app.sessions is used.

const require = createRequire(import.meta.url);
const execFileP = promisify(execFile);

/** What the driver was asked to run: the call and, where the driver takes one, the statement's name. */
interface Sent {
  call: string;
  text: string;
  name?: string;
}

type Patchable = Record<string, (...args: unknown[]) => unknown>;

/** Wraps `methods` of `proto` so that every call is recorded in `sent`; returns the undo. */
function recordCalls(
  proto: Patchable,
  methods: string[],
  sent: () => Sent[] | undefined,
  describe: (args: unknown[], self: unknown) => Omit<Sent, "call">,
) {
  const originals = methods.map((method) => [method, proto[method]!] as const);
  for (const [method, original] of originals) {
    proto[method] = function (this: unknown, ...args: unknown[]) {
      sent()?.push({ call: method, ...describe(args, this) });
      return original.apply(this, args);
    };
  }
  return () => {
    for (const [method, original] of originals) proto[method] = original;
  };
}

/** Records what the dialect's driver sends, for as long as `sent()` answers a list. */
function watchDriver(dialect: DialectCase, sent: () => Sent[] | undefined): () => void {
  if (dialect.name === "postgres") {
    const { Client } = require("pg") as { Client: { prototype: Patchable } };
    return recordCalls(Client.prototype, ["query"], sent, ([config]) => {
      const query = config as string | { text: string; name?: string };
      return typeof query === "string" ? { text: query } : { text: query.text, name: query.name };
    });
  }
  if (dialect.name === "mariadb") {
    const { Connection } = require("mysql2") as { Connection: { prototype: Patchable } };
    return recordCalls(Connection.prototype, ["execute", "query"], sent, ([sql]) => ({
      text: typeof sql === "string" ? sql : (sql as { sql: string }).sql,
    }));
  }
  const sqlite3 = require("sqlite3") as {
    Statement: { prototype: Patchable };
    Database: { prototype: Patchable };
  };
  // A statement's own text is its `sql` property; Database calls take the text as their first argument.
  const undoStatement = recordCalls(
    sqlite3.Statement.prototype,
    ["all", "get", "run", "each"],
    sent,
    (_args, self) => ({
      text: (self as { sql: string }).sql,
    }),
  );
  const undoDatabase = recordCalls(
    sqlite3.Database.prototype,
    ["prepare", "run", "all", "get", "each", "exec"],
    sent,
    ([sql]) => ({ text: String(sql) }),
  );
  return () => {
    undoStatement();
    undoDatabase();
  };
}

const T0 = Date.now();
const LATER = T0 + 3_600_000;
const NEW: SaveContext = { existing: false, changes: { data: new Map(), cleared: false } };
const changed = (key: string, value: string): SaveContext => ({
  existing: true,
  changes: { data: new Map([[key, value]]), cleared: false },
});
const session = (entries: Record<string, string>): SessionRecord => ({
  data: new Map(Object.entries(entries)),
  flash: new Map(),
  createdAt: T0,
});

for (const dialect of DIALECTS) {
  describe(`database store on its driver (${dialect.name})`, function () {
    this.timeout(30000);
    const table = uniqueTable("drv");
    let raw: Knex;
    let store: ServerStore;
    let sent: Sent[] | undefined;
    let unwatch = () => {};

    before(async function () {
      if (dialect.service) await useService(this, dialect.service);
      raw = rawDatabase(dialect);
      const options = resolveSessionOptions({ secret: SECRET }, databaseStoreFactory.rules, [SECRET]);
      store = (await databaseStoreFactory.create(
        options,
        { url: dialect.url, table },
        { clock: Date.now },
      )) as ServerStore;
      await store.admin!.install();
      // One of each operation first, so that what is counted next runs on prepared statements.
      const { id, record } = await loadedSession();
      record.data.set("b", "2");
      await store.save(record, LATER, id, T0, changed("b", "2"));
      const to = newSessionId();
      await store.save(record, LATER, to, T0, { ...changed("b", "2"), replacing: id });
      await store.destroy(to);
      unwatch = watchDriver(dialect, () => sent);
    });
    after(async () => {
      unwatch();
      await store?.close();
      if (raw) await dropTables(raw, [table]).finally(() => raw.destroy());
    });

    /** What the driver sent while `operation` ran. */
    async function sentBy(operation: () => Promise<unknown>): Promise<Sent[]> {
      sent = [];
      try {
        await operation();
        return sent;
      } finally {
        sent = undefined;
      }
    }

    /** A session written and read back, once (so every statement is prepared), as a request finds it. */
    async function loadedSession(): Promise<{ id: string; record: SessionRecord }> {
      const id = newSessionId();
      await store.save(session({ a: "1" }), LATER, id, T0, NEW);
      const loaded = await store.load(id, T0);
      if (!loaded || !("record" in loaded)) throw new Error("not loaded");
      return { id, record: loaded.record };
    }

    /** One driver call per verb, in order, each on a statement prepared before. */
    function expectOnePrepared(calls: Sent[], verbs: string[]): void {
      expect(calls.map((c) => c.text.split(" ")[0]!.toUpperCase())).to.deep.equal(verbs);
      for (const call of calls) {
        if (dialect.name === "postgres")
          expect(call.name, call.text)
            .to.be.a("string")
            .and.match(/^stoat_/);
        if (dialect.name === "mariadb") expect(call.call, call.text).to.equal("execute");
        // sqlite3: a Statement's method, never a Database call (which would prepare the text anew).
        if (dialect.name === "sqlite") expect(call.call, call.text).to.be.oneOf(["all", "run"]);
      }
    }

    it("a load is one SELECT, a new session one INSERT, each a statement prepared once", async () => {
      const id = newSessionId();
      expectOnePrepared(await sentBy(() => store.save(session({ a: "1" }), LATER, id, T0, NEW)), ["INSERT"]);
      expectOnePrepared(await sentBy(() => store.load(id, T0)), ["SELECT"]);
    });

    it("a save of a loaded session is one guarded UPDATE", async () => {
      const { id, record } = await loadedSession();
      record.data.set("b", "2");
      const calls = await sentBy(() => store.save(record, LATER, id, T0, changed("b", "2")));
      expectOnePrepared(calls, ["UPDATE"]);
      expect(calls[0]!.text).to.match(/WHERE .*session_id.* AND .*data/i);
    });

    it("a destroy is one DELETE; a cycleKey is a DELETE of the old row, then an INSERT of the new one", async () => {
      const { id, record } = await loadedSession();
      const to = newSessionId();
      const moved = await sentBy(() =>
        store.save(record, LATER, to, T0, { ...changed("a", "1"), replacing: id }),
      );
      expectOnePrepared(moved, ["DELETE", "INSERT"]);
      expectOnePrepared(await sentBy(() => store.destroy(to)), ["DELETE"]);
    });

    it("runs the same few statements over and over: nothing is built or prepared per request", async () => {
      const texts = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const { id, record } = await loadedSession();
        record.data.set("n", String(i));
        const calls = await sentBy(async () => {
          await store.load(id, T0);
          await store.save(record, LATER, id, T0, changed("n", String(i)));
          await store.destroy(id);
        });
        for (const call of calls) texts.add(call.text);
      }
      expect([...texts]).to.have.length(3); // SELECT, UPDATE, DELETE: the same three texts each time
    });
    it("loads, saves, cycles and destroys with Knex not loaded (a process of its own); app.sessions loads it", async () => {
      const child = fileURLToPath(new URL("./request_path_child.ts", import.meta.url));
      const { stdout } = await execFileP(
        process.execPath,
        ["--import", "tsx", "--conditions", "stoat-source", child, dialect.url, table],
        { timeout: 25_000 },
      );
      const counts = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
        onRequestPath: number;
        afterAdmin: number;
      };
      expect(counts.onRequestPath).to.equal(0);
      expect(counts.afterAdmin).to.be.greaterThan(0); // the count does see Knex once it is there
    });

    it("before sessions:install a request is a ConfigError; installed through the same app, the next one works", async () => {
      const later = uniqueTable("later");
      const options = resolveSessionOptions({ secret: SECRET }, databaseStoreFactory.rules, [SECRET]);
      const fresh = (await databaseStoreFactory.create(
        options,
        { url: dialect.url, table: later },
        { clock: Date.now },
      )) as ServerStore;
      try {
        const id = newSessionId();
        let error: unknown;
        try {
          await fresh.save(session({ a: "1" }), LATER, id, T0, NEW);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as Error).message).to.include("npx stoat sessions:install");
        await fresh.admin!.install();
        await fresh.save(session({ a: "1" }), LATER, id, T0, NEW);
        const loaded = await fresh.load(id, T0);
        expect(loaded && "record" in loaded && Object.fromEntries(loaded.record.data)).to.deep.equal({
          a: "1",
        });
      } finally {
        await fresh.close();
        await dropTables(raw, [later]);
      }
    });
  });
}
