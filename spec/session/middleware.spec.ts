import { expect } from "chai";
import {
  ConfigError,
  CookieStore,
  Handler,
  type RoutesDefinition,
  registerStore,
  type SessionOptions,
  type SessionStore,
} from "stoat";
import request from "supertest";
import type { SessionRecord } from "../../src/session/record.js";
import type { Loaded } from "../../src/session/stores/store.js";
import { Clock, cookieValue, listen, SECRET, setCookieFor, testApp } from "../support/app.js";

// The commit decision table of src/session/middleware.ts, one row per spec.

class Probe extends Handler {
  async untouched() {
    this.respond("no session here");
  }
  async read() {
    this.json({ a: this.session.get("a") ?? null, keys: [...this.session.keys()] });
  }
  async readVaried() {
    this.ctx.set("Vary", "Accept-Encoding");
    this.json({ a: this.session.get("a") ?? null });
  }
  async write() {
    this.session.set("a", this.params.a ?? "1");
    this.json({ ok: true });
  }
  async remove() {
    this.session.delete("a");
    this.json({ ok: true });
  }
  async flush() {
    this.session.flush();
    this.json({ ok: true });
  }
  async flushThenSet() {
    this.session.flush();
    this.session.set("b", "after");
    this.json({ ok: true });
  }
  async cycle() {
    this.session.cycleKey();
    this.json({ ok: true });
  }
  async fail() {
    this.session.set("a", "lost");
    this.respond("boom", { status: 500 });
  }
  async crash() {
    this.session.set("a", "lost");
    throw new Error("handler crashed");
  }
  async expireIn() {
    this.session.set("a", "short");
    this.session.expireIn(60);
    this.json({ ok: true });
  }
  async browser() {
    this.session.set("a", "browser");
    this.session.expireAtBrowserClose();
    this.json({ ok: true });
  }
}

const routes: RoutesDefinition = (r) => {
  for (const action of Object.getOwnPropertyNames(Probe.prototype)) {
    if (action !== "constructor") r.get(`/${action}`, Probe, action);
  }
};

function setup(options: SessionOptions = {}) {
  const clock = new Clock();
  const app = testApp({ routes, clock, options: { touchAfter: 60, ...options } });
  const http = request(app.callback());
  /** A valid session cookie holding a=1, written at the current clock time. */
  const seeded = async () => cookieValue(await http.get("/write"))!;
  return { app, clock, http, seeded };
}

const cookie = (value: string) => `_stoat_session=${value}`;
const expiresOf = (line: string | undefined) =>
  new Date(/Expires=([^;]+)/.exec(line ?? "")?.[1] ?? NaN).getTime();

describe("session middleware: the commit decision table", () => {
  it("never used: no Set-Cookie, no Vary, even with a cookie", async () => {
    const { http, seeded } = setup();
    const value = await seeded();
    for (const res of [
      await http.get("/untouched"),
      await http.get("/untouched").set("Cookie", cookie(value)),
    ]) {
      expect(res.status).to.equal(200);
      expect(res.headers["set-cookie"]).to.equal(undefined);
      expect(res.headers.vary).to.equal(undefined);
    }
  });

  it("read, no cookie: Vary: Cookie and nothing stored", async () => {
    const { http } = setup();
    const res = await http.get("/read");
    expect(res.body).to.deep.equal({ a: null, keys: [] });
    expect(res.headers.vary).to.equal("Cookie");
    expect(res.headers["set-cookie"]).to.equal(undefined);
  });

  it("read with a Vary of the handler's own: Cookie is added to it, not put in its place", async () => {
    const { http } = setup();
    const res = await http.get("/readVaried");
    expect(res.headers.vary).to.equal("Accept-Encoding, Cookie");
  });

  it("read, unchanged, within touchAfter: no Set-Cookie", async () => {
    const { http, clock, seeded } = setup();
    const value = await seeded();
    clock.advance(59);
    const res = await http.get("/read").set("Cookie", cookie(value));
    expect(res.body.a).to.equal("1");
    expect(res.headers.vary).to.equal("Cookie");
    expect(res.headers["set-cookie"]).to.equal(undefined);
  });

  it("modified: saved, with Expires at now + expireAfter", async () => {
    const { http, clock } = setup({ expireAfter: 3600 });
    const res = await http.get("/write?a=x");
    const line = setCookieFor(res);
    expect(line).to.match(/^_stoat_session=Fe26\.2\*/);
    expect(expiresOf(line)).to.equal(Math.floor((clock.now + 3600_000) / 1000) * 1000);
    const back = await http.get("/read").set("Cookie", cookie(cookieValue(res)!));
    expect(back.body.a).to.equal("x");
  });

  it("set to the value it already has: not modified, no Set-Cookie", async () => {
    const { http, seeded } = setup();
    const value = await seeded();
    const res = await http.get("/write?a=1").set("Cookie", cookie(value));
    expect(res.headers["set-cookie"]).to.equal(undefined);
  });

  it("emptied with an incoming cookie: the cookie is cleared", async () => {
    const { http, seeded } = setup();
    const value = await seeded();
    const res = await http.get("/remove").set("Cookie", cookie(value));
    expect(cookieValue(res)).to.equal("");
    expect(expiresOf(setCookieFor(res))).to.equal(0);
  });

  it("empty and no cookie came in: nothing, even after flush", async () => {
    const { http } = setup();
    for (const path of ["/remove", "/flush"]) {
      const res = await http.get(path);
      expect(res.headers["set-cookie"], path).to.equal(undefined);
    }
  });

  it("flush with a cookie, before anything was read: the cookie is cleared", async () => {
    const { http, seeded } = setup();
    const value = await seeded();
    const res = await http.get("/flush").set("Cookie", cookie(value));
    expect(cookieValue(res)).to.equal("");
  });

  it("flush then set: a new cookie with only the new data", async () => {
    const { http, seeded } = setup();
    const value = await seeded();
    const res = await http.get("/flushThenSet").set("Cookie", cookie(value));
    const next = cookieValue(res)!;
    expect(next).to.not.equal(value);
    const back = await http.get("/read").set("Cookie", cookie(next));
    expect(back.body).to.deep.equal({ a: null, keys: ["b"] });
  });

  it("a 5xx response saves nothing", async () => {
    const { app, http, seeded } = setup();
    const errors: Error[] = [];
    app.koa.on("error", (err: Error) => errors.push(err));
    const value = await seeded();
    const failed = await http.get("/fail").set("Cookie", cookie(value));
    expect(failed.status).to.equal(500);
    expect(failed.headers["set-cookie"]).to.equal(undefined);
    const crashed = await http.get("/crash").set("Cookie", cookie(value));
    expect(crashed.status).to.equal(500);
    expect(crashed.headers["set-cookie"]).to.equal(undefined);
    expect(errors.map((e) => e.message)).to.deep.equal(["handler crashed"]);
  });

  it("cycleKey: a new cookie value with the same data", async () => {
    const { http, seeded } = setup();
    const value = await seeded();
    const res = await http.get("/cycle").set("Cookie", cookie(value));
    const next = cookieValue(res)!;
    expect(next).to.match(/^Fe26\.2\*/);
    expect(next).to.not.equal(value);
    expect((await http.get("/read").set("Cookie", cookie(next))).body.a).to.equal("1");
  });

  it("an invalid incoming cookie on a request that uses the session is cleared", async () => {
    const { http } = setup();
    const res = await http.get("/read").set("Cookie", cookie("garbage"));
    expect(res.status).to.equal(200);
    expect(cookieValue(res)).to.equal("");
  });
});

describe("session middleware: expiry", () => {
  it("rolls an unchanged session forward at most once per touchAfter", async () => {
    const { http, clock, seeded } = setup({ expireAfter: 3600, touchAfter: 60 });
    const value = await seeded();
    clock.advance(30);
    expect((await http.get("/read").set("Cookie", cookie(value))).headers["set-cookie"]).to.equal(undefined);
    clock.advance(30);
    const touched = await http.get("/read").set("Cookie", cookie(value));
    const line = setCookieFor(touched);
    expect(expiresOf(line)).to.equal(Math.floor((clock.now + 3600_000) / 1000) * 1000);
    // The touched cookie carries the later expiry inside the seal too: it outlives the original.
    clock.advance(3600 - 60);
    expect((await http.get("/read").set("Cookie", cookie(value))).body.a).to.equal(null);
    expect((await http.get("/read").set("Cookie", cookie(cookieValue(touched)!))).body.a).to.equal("1");
  });

  it("is enforced by the server from the seal, whatever the browser keeps", async () => {
    const { http, clock, seeded } = setup({ expireAfter: 600 });
    const value = await seeded();
    const events = listen("stoat:session:suspicious");
    try {
      clock.advance(600);
      const res = await http.get("/read").set("Cookie", cookie(value));
      expect(res.status).to.equal(200);
      expect(res.body.a).to.equal(null);
      expect(events.messages).to.deep.equal([{ reason: "expired", store: "cookie" }]);
    } finally {
      events.stop();
    }
  });

  it("expireIn(seconds) sets this session's idle lifetime", async () => {
    const { http, clock } = setup({ expireAfter: 3600 });
    const res = await http.get("/expireIn");
    expect(expiresOf(setCookieFor(res))).to.equal(Math.floor((clock.now + 60_000) / 1000) * 1000);
    clock.advance(59);
    const value = cookieValue(res)!;
    expect((await http.get("/read").set("Cookie", cookie(value))).body.a).to.equal("short");
    clock.advance(1);
    expect((await http.get("/read").set("Cookie", cookie(value))).body.a).to.equal(null);
  });

  it("expireAtBrowserClose(): no Expires on the cookie, the idle expiry still enforced", async () => {
    const { http, clock } = setup({ expireAfter: 600 });
    const res = await http.get("/browser");
    const line = setCookieFor(res)!;
    expect(line).to.not.match(/Expires=/i);
    expect(line).to.not.match(/Max-Age=/i);
    clock.advance(600);
    expect((await http.get("/read").set("Cookie", cookie(cookieValue(res)!))).body.a).to.equal(null);
  });

  it("absoluteTimeout caps the expiry however active the session is", async () => {
    const { http, clock, seeded } = setup({ expireAfter: 600, touchAfter: 60, absoluteTimeout: 1000 });
    const start = clock.now;
    let value = await seeded();
    for (let i = 0; i < 9; i++) {
      clock.advance(100);
      const res = await http.get("/read").set("Cookie", cookie(value));
      expect(res.body.a, `after ${(i + 1) * 100}s`).to.equal("1");
      const line = setCookieFor(res);
      if (line) {
        expect(expiresOf(line)).to.be.at.most(start + 1000_000);
        value = cookieValue(res)!;
      }
    }
    clock.advance(100);
    expect((await http.get("/read").set("Cookie", cookie(value))).body.a).to.equal(null);
  });
});

describe("session middleware: a store of the app's own", () => {
  /**
   * The cookie store, answering save, touch and destroy the way `answer` wraps it: as is, or as a thenable
   * that is not a native promise (a JavaScript store may use any promise library). Loading stays synchronous:
   * a store without ids loads on first use, inside the synchronous session API.
   */
  function ownStore(answer: <T>(value: T) => T | Promise<T>) {
    const inner = new CookieStore({ secrets: [SECRET] });
    const calls: string[] = [];
    const store: SessionStore = {
      name: "own",
      usesIds: false,
      load: (value, now) => inner.load(value, now),
      save: (record, expiresAt) => {
        calls.push("save");
        return answer(inner.save(record, expiresAt));
      },
      touch: (record, expiresAt) => answer(inner.touch(record, expiresAt)),
      destroy: () => {
        calls.push("destroy");
        return answer(undefined);
      },
    };
    return { store, calls };
  }
  const thenable = <T>(value: T): Promise<T> => {
    const settled: PromiseLike<T> = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a native promise, on purpose
      then: (resolve) => {
        setImmediate(() => resolve?.(value));
        return undefined as never;
      },
    };
    return settled as Promise<T>; // typed as the Promise the interface names; at run time only `then`
  };

  for (const [what, answer] of [
    ["synchronously", <T>(value: T) => value],
    ["with thenables that are not native promises", thenable],
  ] as const) {
    it(`commits writes and clears an emptied session when the store answers ${what}`, async () => {
      const { store, calls } = ownStore(answer);
      const http = request(testApp({ routes, store }).callback());
      const written = await http.get("/write");
      const value = cookieValue(written);
      expect(value, "Set-Cookie after a write").to.be.a("string").and.not.equal("");
      const read = await http.get("/read").set("Cookie", cookie(value!));
      expect(read.body).to.deep.equal({ a: "1", keys: ["a"] });
      const removed = await http.get("/remove").set("Cookie", cookie(value!));
      expect(cookieValue(removed), "the emptied session's cookie is cleared").to.equal("");
      expect(calls).to.deep.equal(["save", "destroy"]);
    });
  }
});

describe("session middleware: a server-side store of the app's own", () => {
  it("answers a read-only request while a write of the same session is held: only commits that write take turns", async () => {
    const records = new Map<string, Loaded>();
    const copy = (record: SessionRecord) => ({ ...record, data: new Map(record.data) });
    const keep = (id: string, record: SessionRecord, expiresAt: number) => {
      records.set(id, { record: copy(record), expiresAt });
      return id;
    };
    let hold = false;
    let release = () => {};
    let released = false;
    let writeHeld = () => {};
    const held = new Promise<void>((resolve) => {
      writeHeld = resolve;
    });
    const store: SessionStore = {
      name: "own-ids",
      usesIds: true,
      load: (id) => {
        const found = records.get(id);
        return Promise.resolve(found && { record: copy(found.record), expiresAt: found.expiresAt });
      },
      save: (record, expiresAt, id) => {
        if (!hold) return Promise.resolve(keep(id!, record, expiresAt));
        writeHeld();
        return new Promise((resolve) => {
          release = () => {
            released = true;
            resolve(keep(id!, record, expiresAt));
          };
        });
      },
      touch: (record, expiresAt, id) => Promise.resolve(keep(id, record, expiresAt)),
      destroy: (id) => {
        records.delete(id);
        return Promise.resolve();
      },
    };
    const http = request(testApp({ routes, store, options: { touchAfter: 60 } }).callback());
    const id = cookieValue(await http.get("/write"))!;
    hold = true;
    const writing = http
      .get("/write?a=2")
      .set("Cookie", cookie(id))
      .then((res) => res);
    await held;
    // Were the read queued behind the held write, only this would ever answer it (and too late for the check).
    const fallback = setTimeout(() => release(), 2000);
    const read = await http.get("/read").set("Cookie", cookie(id));
    const releasedBeforeRead = released;
    clearTimeout(fallback);
    release();
    expect(read.body.a).to.equal("1");
    expect(releasedBeforeRead, "the read waited for the write").to.equal(false);
    expect((await writing).status).to.equal(200);
    expect(records.get(id)?.record.data.get("a")).to.equal("2");
  });
});

describe("session middleware: a store that fails to open", () => {
  it("rejects ready() and answers requests 500 with the error, and never crashes the process as unhandled", async () => {
    registerStore("fails-to-open", {
      rules: {},
      create: () => Promise.reject(new ConfigError("the adapter is not installed")),
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const app = testApp({ routes, store: "fails-to-open", env: "production" });
      // Nobody awaits the store for a while, as in an app that listens before its first request.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).to.deep.equal([]);
      const errors: unknown[] = [];
      app.koa.on("error", (error) => errors.push(error));
      expect((await request(app.callback()).get("/read")).status).to.equal(500);
      expect(errors[0]).to.be.instanceOf(ConfigError);
      await app.ready().then(
        () => expect.fail("ready() resolved"),
        (error: unknown) => expect(error).to.be.instanceOf(ConfigError),
      );
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
