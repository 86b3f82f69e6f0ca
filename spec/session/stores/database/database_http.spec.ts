import { expect } from "chai";
import type { Knex } from "knex";
import {
  type Application,
  ConfigError,
  Handler,
  type RoutesDefinition,
  type SessionOptions,
  type SessionRowAttributes,
} from "stoat";
import request from "supertest";
import { privateId } from "../../../../src/session/ids.js";
import type { SessionRowClass } from "../../../../src/session/stores/database/session_row.js";
import { Clock, cookieValue, listen, setCookieFor, testApp } from "../../../support/app.js";
import { Gate, heldAt } from "../../../support/gate.js";
import { useService } from "../../../support/services.js";
import { buildStore, DIALECTS, dropTables, rawDatabase, uniqueTable } from "./dialects.js";

// The `database` store over HTTP (app.callback() through supertest), on each dialect, beyond the shared store
// contract (store_contract.spec.ts: lost updates, destroy wins, the size bound...): user_id and app.sessions,
// a custom sessionClass, emoji, and the errors a user sees (409, a lowered maxDataBytes, a missing table).

/** A request that waits in its handler until the spec lets it go. */

let gate: Gate | undefined;
let currentApp: Application | undefined;

class Probe extends Handler {
  async read() {
    this.json({ id: this.session.id ?? null, data: this.session.toJSON() });
  }
  async set() {
    this.session.set(this.params.k ?? "a", this.params.v ?? "1");
    this.json({ id: this.session.id ?? null });
  }
  async del() {
    this.session.delete(this.params.k ?? "a");
    this.json({ ok: true });
  }
  async flush() {
    this.session.flush();
    this.json({ ok: true });
  }
  /** Changes a key, then waits for the spec (a slow request in flight). */
  async slow() {
    this.session.set(this.params.k ?? "slow", this.params.v ?? "1");
    await gate!.enter();
    this.json({ ok: true });
  }
  /** "Log out my other devices". */
  async others() {
    const user = this.session.get("user_id")!;
    const revoked = await currentApp!.sessions.revokeAllForUser(user, { except: this.session.id });
    this.json({ revoked });
  }
}

const routes: RoutesDefinition = (r) => {
  for (const action of ["read", "set", "del", "flush", "slow", "others"]) r.get(`/${action}`, Probe, action);
};

const cookie = (id: string) => `_stoat_session=${id}`;

for (const dialect of DIALECTS) {
  describe(`database store over HTTP (${dialect.name})`, function () {
    this.timeout(30000);
    const table = uniqueTable("web");
    const apps: Application[] = [];
    let raw: Knex;
    let clock: Clock;
    let http: ReturnType<typeof request>;

    function app(options: SessionOptions = {}, env?: string): Application {
      const made = testApp({
        routes,
        clock,
        ...(env ? { env } : {}),
        store: "database",
        options: { url: dialect.url, table, ...options },
      });
      apps.push(made);
      return made;
    }
    const row = (id: string) => raw(table).where("session_id", privateId(id)).first();

    before(async function () {
      if (dialect.service) await useService(this, dialect.service);
      raw = rawDatabase(dialect);
      clock = new Clock();
      const installer = app();
      await installer.sessions.install();
    });
    beforeEach(() => {
      clock = new Clock();
      clock.now = Date.now(); // the stores TTLs and rows keep real time; the injected clock starts from it
      currentApp = app();
      http = request(currentApp.callback());
    });
    afterEach(async () => {
      gate = undefined;
      await Promise.all(apps.splice(0).map((a) => a.close()));
    });
    after(async () => {
      if (raw) await dropTables(raw, [table]).finally(() => raw.destroy());
    });

    it("copies user_id into its column, lists a user's sessions, and revokes all but the current one", async () => {
      const devices: string[] = [];
      for (let i = 0; i < 3; i++) {
        devices.push(cookieValue(await http.get("/set?k=user_id&v=7"))!);
        clock.advance(10);
      }
      const stranger = cookieValue(await http.get("/set?k=user_id&v=8"))!;
      await http.get("/set?k=theme&v=dark").set("Cookie", cookie(stranger));
      expect((await row(devices[0]!)).user_id).to.equal("7");

      const listed = await currentApp!.sessions.listForUser("7");
      expect(listed.map((s) => s.sid)).to.deep.equal([...devices].reverse().map(privateId)); // latest first
      expect(listed[0]!.userId).to.equal("7");
      expect(listed[0]!.expiresAt.getTime() - listed[0]!.updatedAt.getTime()).to.equal(1209600 * 1000);

      const deletes = listen("stoat:session:delete");
      try {
        const res = await http.get("/others").set("Cookie", cookie(devices[0]!));
        expect(res.body).to.deep.equal({ revoked: 2 });
        expect(deletes.messages).to.have.deep.members(
          devices.slice(1).map((id) => ({ sid: privateId(id), store: "database" })),
        );
      } finally {
        deletes.stop();
      }
      for (const id of devices.slice(1)) {
        expect((await http.get("/read").set("Cookie", cookie(id))).body.data).to.deep.equal({});
      }
      expect((await http.get("/read").set("Cookie", cookie(devices[0]!))).body.data).to.deep.equal({
        user_id: "7",
      });
      expect((await http.get("/read").set("Cookie", cookie(stranger))).body.data).to.deep.equal({
        user_id: "8",
        theme: "dark",
      });
      expect((await currentApp!.sessions.listForUser("7")).map((s) => s.sid)).to.deep.equal([
        privateId(devices[0]!),
      ]);

      // Signing out of the user clears the column.
      await http.get("/del?k=user_id").set("Cookie", cookie(stranger));
      expect((await row(stranger)).user_id).to.equal(null);
    });

    it("app.sessions judges what is live by the app's clock", async () => {
      const id = cookieValue(await http.get("/set?k=user_id&v=clock-user"))!;
      const listed = await currentApp!.sessions.listForUser("clock-user");
      expect(listed.map((s) => s.sid)).to.deep.equal([privateId(id)]);
      clock.advance(1209600);
      expect(await currentApp!.sessions.listForUser("clock-user")).to.deep.equal([]);
      expect(await currentApp!.sessions.expire({ dryRun: true })).to.be.at.least(1);
    });

    it("round-trips emoji and other 4-byte characters, in data and in user_id (utf8mb4 on MariaDB)", async () => {
      const plain = request(app({ encrypt: false, serializer: "json" }).callback());
      const name = "🦦 é 漢字 \u{1F600}";
      const id = cookieValue(await plain.get(`/set?k=name&v=${encodeURIComponent(name)}`))!;
      await plain.get(`/set?k=user_id&v=${encodeURIComponent("用户🦦")}`).set("Cookie", cookie(id));
      expect((await plain.get("/read").set("Cookie", cookie(id))).body.data).to.deep.equal({
        name,
        user_id: "用户🦦",
      });
      const stored = await row(id);
      expect(stored.data).to.include(name);
      expect(stored.user_id).to.equal("用户🦦");
    });

    it("a session over maxDataBytes fails the request (500) with nothing written and no cookie change", async () => {
      const smallApp = app({ maxDataBytes: 200 });
      const errors: unknown[] = [];
      smallApp.koa.on("error", (error) => errors.push(error));
      const small = request(smallApp.callback());
      const id = cookieValue(await small.get("/set?k=a&v=1"))!;
      const before = (await row(id)).data;
      const res = await small.get(`/set?k=big&v=${"x".repeat(300)}`).set("Cookie", cookie(id));
      expect(res.status).to.equal(500);
      expect(setCookieFor(res)).to.equal(undefined);
      expect((await row(id)).data).to.equal(before);
      expect(errors).to.have.length(1);
      expect((errors[0] as Error).message).to.match(
        /session data is \d+ bytes encoded, over .*maxDataBytes \(200\)/,
      );
    });

    it("a row that keeps changing under a save is answered 409, never a 200 with the write lost", async () => {
      const other = await buildStore(dialect, { table });
      let id = "";
      // Another request writes the row just before each compare-and-set.
      const wrapRows = (Rows: SessionRowClass) =>
        class Busy extends Rows {
          override async saveIfUnchanged(previous: string): Promise<boolean> {
            const theirs = { data: new Map([["a", "theirs"]]), flash: new Map(), createdAt: clock.now };
            await other.store.save(theirs, clock.now + 60_000, id, clock.now);
            return super.saveIfUnchanged!(previous);
          }
        };
      const contended = await buildStore(dialect, { table }, { wrapRows, maxAttempts: 2 });
      const contendedApp = testApp({ routes, clock, store: contended.store });
      apps.push(contendedApp);
      try {
        const contendedHttp = request(contendedApp.callback());
        id = cookieValue(await contendedHttp.get("/set?k=a&v=1"))!;
        const res = await contendedHttp.get("/set?k=mine&v=1").set("Cookie", cookie(id));
        expect(res.status).to.equal(409);
        expect(res.text).to.match(/concurrent requests/);
        expect(setCookieFor(res)).to.equal(undefined);
        expect((await contendedHttp.get("/read").set("Cookie", cookie(id))).body.data).to.deep.equal({
          a: "theirs",
        });
      } finally {
        await other.store.close();
      }
    });

    it("a missing table answers 500 with a ConfigError pointing to sessions:install, never a raw SQL error", async () => {
      // In production, where the answer is the client's: development shows the developer the error.
      const missing = app({ table: uniqueTable("absent") }, "production");
      const errors: unknown[] = [];
      missing.koa.on("error", (error) => errors.push(error));
      const id = cookieValue(await http.get("/set"))!;
      const res = await request(missing.callback()).get("/read").set("Cookie", cookie(id));
      expect(res.status).to.equal(500);
      expect(res.text).to.not.match(/select|sql|table/i);
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(ConfigError);
      expect((errors[0] as Error).message)
        .to.include("does not exist")
        .and.include("npx stoat sessions:install");
    });
  });
}

describe("database store over HTTP with a custom sessionClass", () => {
  /** activerecord-session_store's contract over a Map, recording what the store calls. */
  const table = new Map<string, { data: string; userId: string | null; expiresAt: Date | undefined }>();
  const calls: string[] = [];
  class AuditedSession {
    static findBySessionId(sessionId: string): AuditedSession | null {
      calls.push("findBySessionId");
      const found = table.get(sessionId);
      return found ? new AuditedSession({ sessionId, data: found.data }) : null;
    }
    sessionId: string;
    data: string;
    userId: string | null = null;
    expiresAt: Date | undefined = undefined;
    constructor({ sessionId, data }: SessionRowAttributes) {
      this.sessionId = sessionId;
      this.data = data;
    }
    save(): void {
      calls.push("save");
      table.set(this.sessionId, { data: this.data, userId: this.userId, expiresAt: this.expiresAt });
    }
    destroy(): void {
      calls.push("destroy");
      table.delete(this.sessionId);
    }
  }

  let app: Application;
  let http: ReturnType<typeof request>;
  const clock = new Clock();
  beforeEach(() => {
    table.clear();
    calls.length = 0;
    app = testApp({ routes, clock, store: "database", options: { sessionClass: AuditedSession } });
    currentApp = app;
    http = request(app.callback());
  });
  afterEach(async () => {
    gate = undefined;
    await app.close();
  });

  it("reads, writes and destroys through the class; user_id and the expiry reach the declared properties", async () => {
    const id = cookieValue(await http.get("/set?k=user_id&v=42"))!;
    const stored = table.get(privateId(id))!;
    expect(stored.data).to.match(/^em1:/);
    expect(stored.userId).to.equal("42");
    expect(stored.expiresAt!.getTime()).to.equal(clock.now + 1209600 * 1000);
    expect(table.has(id), "only the hashed id is stored").to.equal(false);
    expect((await http.get("/read").set("Cookie", cookie(id))).body.data).to.deep.equal({ user_id: "42" });
    await http.get("/flush").set("Cookie", cookie(id));
    expect(table.size).to.equal(0);
    expect(calls).to.deep.equal([
      "save", // the new session
      "findBySessionId", // /read
      "findBySessionId", // /flush: the read before the handler
      "findBySessionId", // /flush: destroy() of the row found (no destroyBySessionId on this class)
      "destroy",
    ]);
  });

  it("merges onto the row read right before writing: a concurrent change is kept", async () => {
    const id = cookieValue(await http.get("/set?k=a&v=1"))!;
    gate = new Gate();
    const slow = await heldAt(gate, http.get("/slow?k=slow&v=1").set("Cookie", cookie(id)));
    await http.get("/set?k=fast&v=1").set("Cookie", cookie(id));
    gate.release();
    expect((await slow.answer).status).to.equal(200);
    expect((await http.get("/read").set("Cookie", cookie(id))).body.data).to.deep.equal({
      a: "1",
      fast: "1",
      slow: "1",
    });
  });

  it("destroy still wins: the slow request finds no row and clears the cookie", async () => {
    const id = cookieValue(await http.get("/set?k=a&v=1"))!;
    gate = new Gate();
    const slow = await heldAt(gate, http.get("/slow").set("Cookie", cookie(id)));
    await http.get("/flush").set("Cookie", cookie(id));
    gate.release();
    expect(cookieValue(await slow.answer)).to.equal("");
    expect(table.size).to.equal(0);
  });
});
