import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import {
  Application,
  ConfigError,
  Handler,
  type RoutesDefinition,
  type SessionOptions,
  type SessionStore,
} from "stoat";
import request from "supertest";
import { newSessionId } from "../../src/session/ids.js";
import { resolveSessionOptions } from "../../src/session/options.js";
import { storeFactory } from "../../src/session/stores/registry.js";
import { Clock, cookieValue, SECRET, setCookieFor } from "../support/app.js";
import { type ServiceName, serviceUrl, useService } from "../support/services.js";
import { DIALECTS, installedTable, uniqueTable } from "./stores/database/dialects.js";

// config.session.previousStore over HTTP: sessions made on app A (the old store) survive the switch to app B
// (the new store, with A's as previousStore): read there, moved to B's store under a new value, gone from
// A's; unknown, expired and flushed sessions stay that way.

/** What a request does between loading its session and committing it (another request, say). */
let meanwhile: (() => Promise<unknown>) | undefined;

class Probe extends Handler {
  async read() {
    this.json({ data: this.session.toJSON(), notice: this.flash.get("notice") ?? null });
  }
  async write() {
    this.session.set(this.params.k ?? "user", this.params.v ?? "ann");
    this.json({ ok: true });
  }
  /** A sign-in page: data, a flash for the next request and a CSRF token for the form. */
  async signIn() {
    this.session.set("user", "ann");
    this.flash.set("notice", "welcome");
    this.json({ token: this.csrfToken });
  }
  async flush() {
    this.session.flush();
    this.json({ ok: true });
  }
  async readSlowly() {
    const data = this.session.toJSON();
    await meanwhile?.();
    this.json({ data });
  }
  async untouched() {
    this.json({ ok: true });
  }
}

const routes: RoutesDefinition = (r) => {
  for (const action of ["read", "write", "signIn", "flush", "readSlowly", "untouched"])
    r.get(`/${action}`, Probe, action);
  r.post("/write", Probe, "write");
};

interface Side {
  store: string | SessionStore;
  options: SessionOptions & Record<string, unknown>;
}

interface Move {
  title: string;
  service?: ServiceName;
  /** Made once for the suite (a table to install, a shared instance). */
  setUp?(): Promise<void>;
  tearDown?(): Promise<void>;
  from(): Side;
  to(): Side;
}

const run = Date.now().toString(36);
const dir = mkdtempSync(join(tmpdir(), "stoat-migration-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const sqliteDialect = DIALECTS.find((d) => d.name === "sqlite")!;
const table = uniqueTable("mig");
let dropTable: (() => Promise<void>) | undefined;
let memory: SessionStore | undefined;

const moves: Move[] = [
  {
    title: "cookie -> redis",
    service: "redis",
    from: () => ({ store: "cookie", options: {} }),
    to: () => ({ store: "redis", options: { url: serviceUrl("redis"), namespace: `mig-${run}` } }),
  },
  {
    title: "redis -> database (SQLite table)",
    service: "redis",
    async setUp() {
      const backend = await installedTable(sqliteDialect, table);
      dropTable = () => backend.close();
    },
    tearDown: () => dropTable!(),
    from: () => ({ store: "redis", options: { url: serviceUrl("redis"), namespace: `mig-${run}` } }),
    to: () => ({ store: "database", options: { url: sqliteDialect.url, table } }),
  },
  {
    title: "database (SQLite table) -> cookie, renaming the cookie",
    async setUp() {
      const backend = await installedTable(sqliteDialect, `${table}_2`);
      dropTable = () => backend.close();
    },
    tearDown: () => dropTable!(),
    from: () => ({
      store: "database",
      options: { url: sqliteDialect.url, table: `${table}_2`, key: "_old" },
    }),
    to: () => ({ store: "cookie", options: { key: "_new" } }),
  },
  {
    title: "memory -> sqlite (Keyv)",
    async setUp() {
      // One in-process memory store, passed as an instance to both apps (a store made by name is per app).
      const options = resolveSessionOptions({}, {}, [SECRET]);
      memory = await storeFactory("memory").create(options, {}, { clock: Date.now });
    },
    from: () => ({ store: memory!, options: {} }),
    to: () => ({ store: "sqlite", options: { database: join(dir, "sessions.sqlite3") } }),
  },
];

for (const move of moves) {
  describe(`moving stores: ${move.title}`, function () {
    this.timeout(15000);
    const apps: Application[] = [];
    let clock: Clock;
    let oldApp: ReturnType<typeof request>;
    let newApp: ReturnType<typeof request>;
    let oldKey: string;
    let newKey: string;
    /** Whether the old store keeps records (the cookie store keeps none: nothing to destroy there). */
    let oldIsServerSide: boolean;

    function build(side: Side, previous?: Side): Application {
      const app = Application.configure((config) => {
        config.routes = routes;
        config.session.store = side.store;
        config.session.options = { secret: SECRET, ...side.options };
        if (previous) {
          config.session.previousStore = previous.store;
          config.session.previousOptions = previous.options;
        }
        config.middleware = ["bodyParser", "session", "csrf", "flash"];
        config.clock = clock.fn;
      });
      apps.push(app);
      return app;
    }

    const cookie = (key: string, value: string) => `${key}=${value}`;
    const signedIn = async () => cookieValue(await oldApp.get("/signIn"), oldKey)!;

    before(async function () {
      if (move.service) await useService(this, move.service);
      await move.setUp?.();
    });
    after(async () => {
      await move.tearDown?.();
    });
    beforeEach(async () => {
      clock = new Clock();
      clock.now = Date.now(); // backends expire by the real clock; the injected one starts from it
      const from = move.from();
      const to = move.to();
      oldKey = from.options.key ?? "_stoat_session";
      newKey = to.options.key ?? "_stoat_session";
      oldIsServerSide = from.store !== "cookie";
      const a = build(from);
      const b = build(to, from);
      await Promise.all([a.ready(), b.ready()]);
      oldApp = request(a.callback());
      newApp = request(b.callback());
    });
    afterEach(async () => {
      // The memory instance is shared by every app of the suite: closed by none of them.
      if (move.from().store !== memory) await Promise.all(apps.map((a) => a.close()));
      apps.length = 0;
    });

    it("a session made before the switch is read, moved to the new store and gone from the old", async () => {
      const old = await signedIn();
      const res = await newApp.get("/read").set("Cookie", cookie(oldKey, old));
      expect(res.body).to.deep.equal({ data: { user: "ann" }, notice: "welcome" });
      const moved = cookieValue(res, newKey)!;
      expect(moved).to.be.a("string").and.not.equal("").and.not.equal(old);
      if (oldKey !== newKey) expect(cookieValue(res, oldKey)).to.equal("");
      if (oldIsServerSide) {
        const replay = await oldApp.get("/read").set("Cookie", cookie(oldKey, old));
        expect(replay.body.data).to.deep.equal({});
      }
      // Read from the new store now: no second move, the flash shown once.
      const again = await newApp.get("/read").set("Cookie", cookie(newKey, moved));
      expect(again.body).to.deep.equal({ data: { user: "ann" }, notice: null });
    });

    it("carries the CSRF secret over: a token handed out before the switch is accepted after it", async () => {
      const signIn = await oldApp.get("/signIn");
      const old = cookieValue(signIn, oldKey)!;
      const res = await newApp
        .post("/write?k=step&v=2")
        .set("Cookie", cookie(oldKey, old))
        .set("X-CSRF-Token", signIn.body.token);
      expect(res.status).to.equal(200);
      const moved = cookieValue(res, newKey)!;
      const read = await newApp.get("/read").set("Cookie", cookie(newKey, moved));
      expect(read.body.data).to.deep.equal({ user: "ann", step: "2" });
    });

    it("moves a session a request only reads, and none a request never uses", async () => {
      const old = await signedIn();
      const untouched = await newApp.get("/untouched").set("Cookie", cookie(oldKey, old));
      expect(setCookieFor(untouched, newKey)).to.equal(undefined);
      const read = await newApp.get("/read").set("Cookie", cookie(oldKey, old));
      expect(cookieValue(read, newKey)).to.be.a("string").and.not.equal("");
    });

    it("a forged or unknown id creates nothing in either store", async () => {
      const forged = newSessionId();
      const read = await newApp.get("/read").set("Cookie", cookie(oldKey, forged));
      expect(read.body.data).to.deep.equal({});
      expect(cookieValue(read, newKey) ?? "").to.equal(""); // at most cleared, as any unknown cookie
      const written = await newApp.get("/write").set("Cookie", cookie(oldKey, forged));
      const fresh = cookieValue(written, newKey)!;
      expect(fresh).to.not.equal(forged);
      expect((await oldApp.get("/read").set("Cookie", cookie(oldKey, forged))).body.data).to.deep.equal({});
      expect((await newApp.get("/read").set("Cookie", cookie(newKey, forged))).body.data).to.deep.equal({});
    });

    it("an expired old session is not moved", async () => {
      const old = await signedIn();
      clock.advance(1209600 + 1);
      const res = await newApp.get("/read").set("Cookie", cookie(oldKey, old));
      expect(res.body.data).to.deep.equal({});
      expect(cookieValue(res, newKey) ?? "").to.equal("");
    });

    // Only where the old store keeps records: a cookie cannot be signed out anywhere but in its browser.
    const destroyWins = move.from().store === "cookie" ? () => undefined : it;
    destroyWins(
      "destroy wins: a session signed out in the old store while a request moves it is not brought back",
      async () => {
        const old = await signedIn();
        meanwhile = () => oldApp.get("/flush").set("Cookie", cookie(oldKey, old));
        try {
          const res = await newApp.get("/readSlowly").set("Cookie", cookie(oldKey, old));
          expect(res.body.data).to.deep.equal({ user: "ann" });
          expect(cookieValue(res, oldKey)).to.equal("");
          if (oldKey !== newKey) expect(setCookieFor(res, newKey)).to.equal(undefined);
        } finally {
          meanwhile = undefined;
        }
        expect((await newApp.get("/read").set("Cookie", cookie(oldKey, old))).body.data).to.deep.equal({});
      },
    );

    it("a session flushed after the switch stays flushed in both stores", async () => {
      const old = await signedIn();
      const flushed = await newApp.get("/flush").set("Cookie", cookie(oldKey, old));
      expect(cookieValue(flushed, oldKey)).to.equal("");
      const replay = await newApp.get("/read").set("Cookie", cookie(oldKey, old));
      if (oldIsServerSide) {
        expect(replay.body.data).to.deep.equal({});
        expect((await oldApp.get("/read").set("Cookie", cookie(oldKey, old))).body.data).to.deep.equal({});
      }
    });
  });
}

describe("moving stores: configuration", () => {
  const make = (session: Record<string, unknown>) =>
    Application.configure((config) => {
      Object.assign(config.session, { options: { secret: SECRET } }, session);
    });

  it("checks previousOptions against the previous store's own rules", () => {
    expect(() => make({ previousStore: "memory", previousOptions: { url: "redis://x" } })).to.throw(
      ConfigError,
      /config\.session\.previousOptions\.url is not an option/,
    );
    expect(() => make({ previousStore: "nope" })).to.throw(/"nope" is not a session store/);
    expect(() => make({ previousOptions: {} })).to.throw(ConfigError, /needs config\.session\.previousStore/);
    expect(() => make({ previousStore: {} })).to.throw(ConfigError, /config\.session\.previousStore must be/);
  });

  it("answers 503 when the previous store is down, not an empty session", async function () {
    this.timeout(10000);
    const app = Application.configure((config) => {
      config.routes = routes;
      config.session.store = "cookie";
      config.session.options = { secret: SECRET };
      config.session.previousStore = "redis";
      config.session.previousOptions = { url: "redis://127.0.0.1:1", timeout: 0.5 } as SessionOptions;
      config.middleware = ["bodyParser", "session", "flash"];
    });
    try {
      const res = await request(app.callback())
        .get("/read")
        .set("Cookie", `_stoat_session=${newSessionId()}`);
      expect(res.status).to.equal(503);
    } finally {
      await app.close();
    }
  });
});
