import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { type Application, Handler, type RoutesDefinition, type SessionOptions } from "stoat";
import request from "supertest";
import { privateId } from "../../src/session/ids.js";
import type { Backend } from "../../src/session/stores/backend.js";
import { cookieValue, testApp } from "../support/app.js";
import { Gate, raceCycleKeys } from "../support/gate.js";
import { inspectStore } from "../support/inspect.js";
import { type ServiceName, serviceUrl, useService } from "../support/services.js";

// Destroy wins on every server-side store, a slow write merges onto a change made meanwhile, and
// parallel cycleKey() calls end on one valid id. (The lost-update meter, which counts lost writes under
// load over real HTTP servers, is the bench's: bench/spec/meter.spec.ts.)

/** Requests that wait in their handler until the spec lets them go. */

let gate: Gate | undefined;

class Probe extends Handler {
  async read() {
    this.json({ data: this.session.toJSON() });
  }
  async set() {
    this.session.set(this.params.k ?? "a", this.params.v ?? "1");
    this.json({ ok: true });
  }
  async flush() {
    this.session.flush();
    this.json({ ok: true });
  }
  async slow() {
    this.session.set(this.params.k ?? "late", "1");
    await gate!.enter();
    this.json({ ok: true });
  }
  async touchSlow() {
    this.session.get("a"); // reads only: the commit is a touch
    await gate!.enter();
    this.json({ ok: true });
  }
  async cycle() {
    this.session.cycleKey();
    if (this.params.k) this.session.set(this.params.k, "1");
    await gate!.enter();
    this.json({ id: this.session.id ?? null });
  }
}

const routes: RoutesDefinition = (r) => {
  for (const action of ["read", "set", "flush", "slow", "touchSlow", "cycle"])
    r.get(`/${action}`, Probe, action);
};
const cookie = (id: string) => `_stoat_session=${id}`;

const run = Date.now().toString(36);
const sqliteDir = mkdtempSync(join(tmpdir(), "stoat-hardening-"));
after(() => rmSync(sqliteDir, { recursive: true, force: true }));

interface StoreCase {
  name: "memory" | "redis" | "memcache" | "sqlite" | "postgres" | "mysql" | "database";
  title?: string;
  service?: ServiceName;
  options(): SessionOptions & Record<string, unknown>;
  /** Compare-and-set: parallel cycles across processes are atomic too. */
  cas?: boolean;
}

const cases: StoreCase[] = [
  { name: "memory", options: () => ({}) },
  {
    name: "redis",
    service: "redis",
    cas: true,
    options: () => ({ url: serviceUrl("redis"), namespace: `hardening-${run}` }),
  },
  {
    name: "memcache",
    service: "memcache",
    options: () => ({ memcacheServer: serviceUrl("memcache"), namespace: `hardening-${run}` }),
  },
  { name: "sqlite", options: () => ({ database: join(sqliteDir, "sessions.sqlite3") }) },
  {
    name: "postgres",
    service: "postgres",
    options: () => ({ url: serviceUrl("postgres"), namespace: `hardening-${run}` }),
  },
  {
    name: "mysql",
    service: "mysql",
    options: () => ({ url: serviceUrl("mysql"), namespace: `hardening-${run}` }),
  },
  // The database store moves rows on cycleKey (delete first; only the request that deleted inserts).
  {
    name: "database",
    title: "database (sqlite)",
    cas: true,
    options: () => ({ url: `sqlite://${join(sqliteDir, "database.sqlite3")}`, table: `cycle_${run}` }),
  },
];

for (const store of cases) {
  describe(`destroy wins and parallel cycleKey: ${store.title ?? store.name}`, function () {
    this.timeout(20000);
    const apps: Application[] = [];
    let http: ReturnType<typeof request>;
    let backend: Backend | undefined;

    function app(): Application {
      // touchAfter 0: a request that only reads touches, so a touch in flight can be tested too.
      const made = testApp({ routes, store: store.name, options: { ...store.options(), touchAfter: 0 } });
      apps.push(made);
      return made;
    }
    /** What the store holds under a public id (undefined: nothing). */
    async function stored(id: string): Promise<string | undefined> {
      if (!backend) return undefined;
      return backend.get(privateId(id));
    }
    const read = async (id: string) => (await http.get("/read").set("Cookie", cookie(id))).body.data;

    before(async function () {
      if (store.service) await useService(this, store.service);
      if (store.name === "database") {
        await app().sessions.install(); // a table of this run's own; inspected through the app's reads
      } else if (store.name !== "memory") {
        backend = await inspectStore(store.name, store.options());
      }
    });
    beforeEach(() => {
      http = request(app().callback());
    });
    afterEach(async () => {
      gate?.release();
      gate = undefined;
      await Promise.all(apps.splice(0).map((a) => a.close()));
    });
    after(async () => {
      await backend?.close();
    });

    it("a request in flight while another flushes does not bring the session back", async () => {
      const id = cookieValue(await http.get("/set?k=user&v=ann"))!;
      gate = new Gate();
      const slow = http
        .get("/slow?k=late")
        .set("Cookie", cookie(id))
        .then((res) => res);
      await gate.started();
      const signedOut = await http.get("/flush").set("Cookie", cookie(id));
      expect(cookieValue(signedOut)).to.equal("");
      gate.release();
      const late = await slow;
      expect(late.status).to.equal(200);
      expect(cookieValue(late), "the slow response clears the cookie").to.equal("");
      if (backend) expect(await stored(id)).to.equal(undefined);
      expect(await read(id)).to.deep.equal({});
    });

    it("a touch in flight while another flushes does not bring the session back", async () => {
      const id = cookieValue(await http.get("/set?k=a&v=1"))!;
      gate = new Gate();
      const slow = http
        .get("/touchSlow")
        .set("Cookie", cookie(id))
        .then((res) => res);
      await gate.started();
      await http.get("/flush").set("Cookie", cookie(id));
      gate.release();
      expect((await slow).status).to.equal(200);
      if (backend) expect(await stored(id)).to.equal(undefined);
      expect(await read(id)).to.deep.equal({});
    });

    it("a slow write merges onto a change made meanwhile instead of overwriting it", async () => {
      const id = cookieValue(await http.get("/set?k=a&v=1"))!;
      gate = new Gate();
      const slow = http
        .get("/slow?k=slow")
        .set("Cookie", cookie(id))
        .then((res) => res);
      await gate.started();
      await http.get("/set?k=fast&v=1").set("Cookie", cookie(id));
      gate.release();
      expect((await slow).status).to.equal(200);
      expect(await read(id)).to.deep.equal({ a: "1", fast: "1", slow: "1" });
    });

    // "One valid id": the old id is gone, exactly one new id holds the data, and only the request that
    // moved it sends a Set-Cookie (the other sends none, so the browser keeps the winner's id).
    const parallelCycle = async (second: ReturnType<typeof request>) => {
      const id = cookieValue(await http.get("/set?k=user&v=ann"))!;
      gate = new Gate();
      const { responses, winner, fresh } = await raceCycleKeys(gate, [
        http.get("/cycle?k=first").set("Cookie", cookie(id)),
        second.get("/cycle?k=second").set("Cookie", cookie(id)),
      ]);
      expect(fresh).to.not.equal("").and.to.not.equal(id);
      const other = responses.find((r) => r !== winner)!;
      expect(other.body.id, "the loser's id was never stored").to.not.equal(fresh);
      expect(await read(id), "the old id is gone").to.deep.equal({});
      expect(await read(other.body.id)).to.deep.equal({});
      const data = await read(fresh);
      expect(data.user).to.equal("ann");
      if (backend) {
        expect(await stored(id)).to.equal(undefined);
        expect(await stored(other.body.id)).to.equal(undefined);
      }
    };

    it("two parallel cycleKey() calls in one process end on one valid id", async () => {
      await parallelCycle(http);
    });

    if (store.cas) {
      it("two parallel cycleKey() calls in two processes end on one valid id (atomic move)", async () => {
        await parallelCycle(request(app().callback()));
      });
    }
  });
}
