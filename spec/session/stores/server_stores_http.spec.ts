import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Keyv } from "keyv";
import { type Application, Handler, type RoutesDefinition, type SessionOptions } from "stoat";
import request from "supertest";
import { newSessionId, privateId } from "../../../src/session/ids.js";
import type { BackendName } from "../../../src/session/stores/adapters/index.js";
import type { Backend } from "../../../src/session/stores/backend.js";
import { Clock, cookieValue, listen, testApp } from "../../support/app.js";
import { inspectStore } from "../../support/inspect.js";
import { type ServiceName, serviceUrl, useService } from "../../support/services.js";
import { DIALECTS, installedTable, uniqueTable } from "./database/dialects.js";

// What every server-side store promises over HTTP, beyond the shared store contract (store_contract.spec.ts,
// which has malformed ids, the hashed id and ciphertext at rest, and secret rotation): ids in the cookie,
// strict mode, cycleKey/flush with replay, expiry on read, instrumentation, plain JSON at rest.

class Probe extends Handler {
  async read() {
    this.json({ id: this.session.id ?? null, data: this.session.toJSON() });
  }
  async write() {
    this.session.set(this.params.k ?? "a", this.params.v ?? "1");
    this.json({ id: this.session.id ?? null });
  }
  async cycle() {
    this.session.cycleKey();
    this.json({ id: this.session.id ?? null });
  }
  async flush() {
    this.session.flush();
    this.json({ ok: true });
  }
  async flushCycleSet() {
    this.session.get("user"); // loaded first, as a sign-out handler that checks who is signed in would
    this.session.flush();
    this.session.cycleKey();
    this.session.set("after", "flush");
    this.json({ id: this.session.id ?? null });
  }
  async remove() {
    this.session.delete(this.params.k ?? "a");
    this.json({ ok: true });
  }
}

const routes: RoutesDefinition = (r) => {
  for (const action of ["read", "write", "cycle", "flush", "flushCycleSet", "remove"])
    r.get(`/${action}`, Probe, action);
};

const run = Date.now().toString(36);
const sharedKeyv = new Keyv();
const sqliteDir = mkdtempSync(join(tmpdir(), "stoat-sqlite-"));
after(() => rmSync(sqliteDir, { recursive: true, force: true }));

interface StoreCase {
  name: string;
  /** Tells apart cases of one store (the database store on each dialect). */
  title?: string;
  service?: ServiceName;
  options(): SessionOptions & Record<string, unknown>;
  /** A second connection to what is stored, when openBackend cannot open one (the database store). */
  inspect?(): Promise<Backend>;
}

const cases: StoreCase[] = [
  { name: "memory", options: () => ({}) },
  {
    name: "redis",
    service: "redis",
    options: () => ({ url: serviceUrl("redis"), namespace: `spec-${run}` }),
  },
  {
    name: "memcache",
    service: "memcache",
    options: () => ({ memcacheServer: serviceUrl("memcache"), namespace: `spec-${run}` }),
  },
  { name: "sqlite", options: () => ({ database: join(sqliteDir, "sessions.sqlite3") }) },
  {
    name: "postgres",
    service: "postgres",
    options: () => ({ url: serviceUrl("postgres"), namespace: `spec-${run}` }),
  },
  {
    name: "mysql",
    service: "mysql",
    options: () => ({ url: serviceUrl("mysql"), namespace: `spec-${run}` }),
  },
  // The app's own Keyv instance (here over a Map; in an app, mongo, dynamo, valkey...), shared by every app.
  { name: "keyv", options: () => ({ keyv: sharedKeyv }) },
  // The `database` store on each dialect, in a table of this run's own (installed, and dropped by close()).
  ...DIALECTS.map((dialect) => {
    const table = uniqueTable("http");
    return {
      name: "database",
      title: `database (${dialect.name})`,
      service: dialect.service,
      options: () => ({ url: dialect.url, table }),
      inspect: () => installedTable(dialect, table),
    };
  }),
];

const cookie = (id: string) => `_stoat_session=${id}`;

for (const store of cases) {
  describe(`server-side store over HTTP: ${store.title ?? store.name}`, function () {
    this.timeout(15000);
    const apps: Application[] = [];
    let clock: Clock;
    let http: ReturnType<typeof request>;
    let backend: Backend | undefined;

    function app(options: SessionOptions = {}): Application {
      const made = testApp({ routes, clock, store: store.name, options: { ...store.options(), ...options } });
      apps.push(made);
      return made;
    }

    before(async function () {
      if (store.service) await useService(this, store.service);
      // A second connection to the same data, to look at what is stored without going through Stoat.
      // (The memory store lives inside one process, so it is inspected through the app's own behaviour.)
      if (store.inspect) backend = await store.inspect();
      else if (store.name !== "memory") {
        backend = await inspectStore(store.name as BackendName, store.options());
      }
    });
    beforeEach(async () => {
      clock = new Clock();
      clock.now = Date.now(); // backends expire by the real clock; the injected one starts from it
      const main = app();
      await main.ready();
      http = request(main.callback());
    });
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((a) => a.close()));
    });
    after(async () => {
      await backend?.close();
    });

    it("keeps the data under a 43-character id that the handler sees as session.id", async () => {
      const written = await http.get("/write?k=user&v=ann");
      const id = cookieValue(written)!;
      expect(id).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(written.body.id).to.equal(id);
      const read = await http.get("/read").set("Cookie", cookie(id));
      expect(read.body).to.deep.equal({ id, data: { user: "ann" } });
      expect(read.headers["set-cookie"]).to.equal(undefined);
    });

    it("strict mode: a well-formed unknown id gets a fresh id and creates nothing", async () => {
      const planted = newSessionId();
      const read = await http.get("/read").set("Cookie", cookie(planted));
      expect(read.body).to.deep.equal({ id: null, data: {} });
      if (backend) expect(await backend.get(privateId(planted))).to.equal(undefined);
      const written = await http.get("/write").set("Cookie", cookie(planted));
      const id = cookieValue(written)!;
      expect(id)
        .to.match(/^[A-Za-z0-9_-]{43}$/)
        .and.not.equal(planted);
      expect((await http.get("/read").set("Cookie", cookie(planted))).body.data).to.deep.equal({});
    });

    it("cycleKey moves the data to a new id; the old id replayed gets an empty session", async () => {
      const old = cookieValue(await http.get("/write?k=user&v=ann"))!;
      const cycled = await http.get("/cycle").set("Cookie", cookie(old));
      const fresh = cookieValue(cycled)!;
      expect(fresh)
        .to.match(/^[A-Za-z0-9_-]{43}$/)
        .and.not.equal(old);
      expect(cycled.body.id).to.equal(fresh);
      expect((await http.get("/read").set("Cookie", cookie(fresh))).body.data).to.deep.equal({ user: "ann" });
      expect((await http.get("/read").set("Cookie", cookie(old))).body.data).to.deep.equal({});
    });

    it("flush destroys the record and clears the cookie; a replay gets an empty session", async () => {
      const id = cookieValue(await http.get("/write"))!;
      const flushed = await http.get("/flush").set("Cookie", cookie(id));
      expect(cookieValue(flushed)).to.equal("");
      expect((await http.get("/read").set("Cookie", cookie(id))).body.data).to.deep.equal({});
      if (backend) expect(await backend.get(privateId(id))).to.equal(undefined);
    });

    it("flush() then cycleKey() then set(): a new session holding only the new data, the old one gone", async () => {
      const old = cookieValue(await http.get("/write?k=user&v=ann"))!;
      const res = await http.get("/flushCycleSet").set("Cookie", cookie(old));
      const fresh = cookieValue(res)!;
      expect(fresh)
        .to.match(/^[A-Za-z0-9_-]{43}$/)
        .and.not.equal(old);
      expect((await http.get("/read").set("Cookie", cookie(fresh))).body.data).to.deep.equal({
        after: "flush",
      });
      expect((await http.get("/read").set("Cookie", cookie(old))).body.data).to.deep.equal({});
    });

    it("a request that empties the session destroys the record, not only the cookie", async () => {
      const id = cookieValue(await http.get("/write"))!;
      const emptied = await http.get("/remove").set("Cookie", cookie(id));
      expect(cookieValue(emptied)).to.equal("");
      if (backend) expect(await backend.get(privateId(id))).to.equal(undefined);
      const replay = await http.get("/write?k=b&v=2").set("Cookie", cookie(id));
      expect(cookieValue(replay), "a replayed cookie starts a new session").to.not.equal(id);
    });

    it("enforces the idle expiry on read, from the record", async () => {
      const id = cookieValue(await http.get("/write"))!;
      clock.advance(1209600);
      const events = listen("stoat:session:suspicious");
      try {
        expect((await http.get("/read").set("Cookie", cookie(id))).body.data).to.deep.equal({});
        expect(events.messages).to.deep.equal([{ reason: "expired", store: store.name }]);
      } finally {
        events.stop();
      }
    });

    it("touches an unchanged session at most once per touchAfter", async () => {
      const id = cookieValue(await http.get("/write"))!;
      const writes = listen("stoat:session:write");
      try {
        clock.advance(30);
        expect((await http.get("/read").set("Cookie", cookie(id))).headers["set-cookie"]).to.equal(undefined);
        expect(writes.messages).to.have.length(0);
        clock.advance(30);
        const touched = await http.get("/read").set("Cookie", cookie(id));
        expect(cookieValue(touched)).to.equal(id);
        expect(writes.messages).to.deep.equal([{ sid: privateId(id), store: store.name }]);
      } finally {
        writes.stop();
      }
    });

    it("publishes read, write and delete with the hashed id only", async () => {
      const channels = ["read", "write", "delete"].map((c) => listen(`stoat:session:${c}`));
      try {
        const id = cookieValue(await http.get("/write"))!;
        await http.get("/read").set("Cookie", cookie(id));
        await http.get("/flush").set("Cookie", cookie(id));
        const [reads, writes, deletes] = channels.map((c) => c.messages);
        const expected = { sid: privateId(id), store: store.name };
        expect(expected.sid).to.match(/^2::[0-9a-f]{64}$/);
        expect(writes).to.deep.equal([expected]);
        expect(reads).to.deep.equal([expected, expected]);
        expect(deletes).to.deep.equal([expected]);
        expect(JSON.stringify([reads, writes, deletes])).to.not.include(id);
      } finally {
        for (const c of channels) c.stop();
      }
    });

    // The memory store lives inside one app's process: no second connection can look at it, so the spec
    // below needs a store with a server.
    if (store.name !== "memory") {
      it("with encrypt: false and the json serializer, stores readable JSON, and reads either serializer", async () => {
        const plain = request(app({ encrypt: false, serializer: "json" }).callback());
        const id = cookieValue(await plain.get("/write?k=user&v=ann"))!;
        const stored = await backend!.get(privateId(id));
        expect(stored)
          .to.match(/^pj1:\[1,/)
          .and.include('"user","ann"');
        const msgpack = request(app({ encrypt: false, serializer: "msgpack" }).callback());
        expect((await msgpack.get("/read").set("Cookie", cookie(id))).body.data).to.deep.equal({
          user: "ann",
        });
        // With encryption on, a plain record (as an attacker with store access might plant) is refused.
        expect((await http.get("/read").set("Cookie", cookie(id))).body.data).to.deep.equal({});
      });
    }
  });
}
