import { expect } from "chai";
import { sealData, unsealData } from "iron-session";
import { CookieOverflowError, Handler, type RoutesDefinition, type SessionOptions } from "stoat";
import request from "supertest";
import {
  Clock,
  cookieValue,
  listen,
  OTHER_SECRET,
  SECRET,
  setCookieFor,
  THIRD_SECRET,
  testApp,
} from "../support/app.js";
import { craftSeal as craft, ironSealWithId as ironSeal } from "../support/seals.js";

const ironSealWithId = (id: string) => ironSeal(id, { user: "mallory" });

// The cookie store over real HTTP (supertest against app.callback()), with iron-session 8 as the oracle.
// iron-session checks expiry against the real clock, so specs that hand cookies to it or take cookies from
// it run on Date.now(); the others run on the injected Clock.

const HOUR = 3_600_000;
const COOKIE = "_stoat_session";

class SessionHandler extends Handler {
  /** The session as the app sees it. */
  async show() {
    this.json({ data: this.session.toJSON(), empty: this.session.isEmpty() });
  }

  /** Sets every query parameter as a session key. */
  async write() {
    for (const [key, value] of Object.entries(this.query)) {
      if (typeof value === "string") this.session.set(key, value);
    }
    this.json({ data: this.session.toJSON() });
  }

  /** Stores `n` bytes under "blob". */
  async big() {
    this.session.set("blob", "x".repeat(Number(this.query.n)));
    this.respond("stored");
  }

  /** Never touches the session. */
  async plain() {
    this.respond("no session here");
  }
}

const routes: RoutesDefinition = (r) => {
  r.get("/", SessionHandler, "show");
  r.get("/write", SessionHandler, "write");
  r.get("/big", SessionHandler, "big");
  r.get("/plain", SessionHandler, "plain");
};

function app(options: SessionOptions = {}, clock?: Clock) {
  return testApp({ routes, options, ...(clock ? { clock } : {}) });
}

function get(a: ReturnType<typeof app>, path: string, cookie?: string) {
  const req = request(a.callback()).get(path);
  return cookie === undefined ? req : req.set("Cookie", `${COOKIE}=${cookie}`);
}

/** Writes `params` into a new session and returns the cookie value the app sets. */
async function written(a: ReturnType<typeof app>, params: string): Promise<string> {
  const res = await get(a, `/write?${params}`);
  expect(res.status).to.equal(200);
  const value = cookieValue(res);
  expect(value, "Set-Cookie").to.match(/^Fe26\.2\*/);
  return value!;
}

/** Changes the first character of `*`-field `part` to another base64url character. */
function flipInPart(seal: string, part: number): string {
  const parts = seal.split("*");
  const field = parts[part]!;
  parts[part] = (field[0] === "A" ? "B" : "A") + field.slice(1);
  return parts.join("*");
}

describe("cookie store over HTTP", () => {
  let suspicious: ReturnType<typeof listen>;
  beforeEach(() => {
    suspicious = listen("stoat:session:suspicious");
  });
  afterEach(() => {
    suspicious.stop();
  });

  describe("round trip", () => {
    it("reads back what a request wrote, with nothing suspicious", async () => {
      const a = app({}, new Clock());
      const value = await written(a, "user=ann&theme=dark");
      const res = await get(a, "/", value);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ data: { user: "ann", theme: "dark" }, empty: false });
      expect(setCookieFor(res), "an unchanged session sets no cookie").to.equal(undefined);
      expect(suspicious.messages).to.deep.equal([]);
    });

    it("is read by another app with the same secret (no shared process state needed)", async () => {
      const clock = new Clock();
      const value = await written(app({}, clock), "user=ann");
      const res = await get(app({}, clock), "/", value);
      expect(res.body).to.deep.equal({ data: { user: "ann" }, empty: false });
    });
  });

  describe("interop with iron-session 8", () => {
    it("sets a cookie that iron-session's unsealData opens with the same secret", async () => {
      const value = await written(app(), "user=ann");
      const data = await unsealData<Record<string, unknown>>(value, { password: SECRET });
      const { __stoat: meta, ...user } = data;
      expect(user).to.deep.equal({ user: "ann" });
      expect(meta).to.have.property("c").that.is.a("number");
    });

    it("reads a cookie made by iron-session's sealData", async () => {
      const value = await sealData({ user: "bob", visits: 3, admin: true }, { password: SECRET });
      const res = await get(app(), "/", value);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ data: { user: "bob", visits: "3", admin: "true" }, empty: false });
      expect(suspicious.messages).to.deep.equal([]);
    });

    it("reads a cookie iron-session sealed with a password map {2: new, 1: old}", async () => {
      const value = await sealData({ user: "bob" }, { password: { 2: OTHER_SECRET, 1: SECRET } });
      const res = await get(app({ secret: OTHER_SECRET }), "/", value);
      expect(res.body).to.deep.equal({ data: { user: "bob" }, empty: false });
    });
  });

  describe("secret rotation: old -> new -> old removed", () => {
    const appA = () => app({ secret: SECRET });
    const appB = () => app({ secret: OTHER_SECRET, oldSecret: SECRET });
    const appC = () => app({ secret: OTHER_SECRET, oldSecret: [] });

    it("B reads A's cookie, reseals it with the new secret on a write, and C reads only B's cookie", async () => {
      const fromA = await written(appA(), "user=ann");

      const read = await get(appB(), "/", fromA);
      expect(read.status).to.equal(200);
      expect(read.body).to.deep.equal({ data: { user: "ann" }, empty: false });

      const b = appB();
      const write = await get(b, "/write?role=admin", fromA);
      expect(write.body).to.deep.equal({ data: { user: "ann", role: "admin" } });
      const fromB = cookieValue(write)!;
      expect(fromB).to.match(/^Fe26\.2\*/);
      expect(await unsealData(fromB, { password: OTHER_SECRET })).to.include({ user: "ann", role: "admin" });
      expect(await unsealData(fromB, { password: SECRET }), "not sealed with the old secret").to.deep.equal(
        {},
      );
      expect(suspicious.messages).to.deep.equal([]);

      const c = appC();
      const readB = await get(c, "/", fromB);
      expect(readB.body).to.deep.equal({ data: { user: "ann", role: "admin" }, empty: false });
      expect(suspicious.messages).to.deep.equal([]);

      const readA = await get(c, "/", fromA);
      expect(readA.status).to.equal(200);
      expect(readA.body).to.deep.equal({ data: {}, empty: true });
      expect(suspicious.messages).to.deep.equal([{ reason: "mac", store: "cookie" }]);
    });
  });

  describe("bad cookies: an empty session, a suspicious message, never a 5xx", () => {
    const clock = new Clock();
    const a = app({}, clock);
    const future = String(clock.now + HOUR);
    /** A genuine cookie from this app, to tamper with. */
    const genuine = () => written(a, "user=ann");

    const cases: [name: string, make: () => string | Promise<string>, reason: string][] = [
      ["a character of the ciphertext flipped", async () => flipInPart(await genuine(), 4), "mac"],
      ["a character of the iv flipped", async () => flipInPart(await genuine(), 3), "mac"],
      ["a character of the mac flipped", async () => flipInPart(await genuine(), 7), "mac"],
      ["junk appended to the mac", async () => (await genuine()).replace("~2", "!!~2"), "mac"],
      [
        "truncated",
        async () => {
          const value = await genuine();
          return value.slice(0, Math.floor(value.length / 2));
        },
        "malformed",
      ],
      ["garbage", () => "garbage", "malformed"],
      ["empty", () => "", "malformed"],
      ["eight *-parts of junk", () => "a*b*c*d*e*f*g*h", "prefix"],
      ["eight *-parts behind a Fe26.2 prefix", () => `Fe26.2*1*abcd*efgh*ijkl*${future}*mnop*qrst~2`, "mac"],
      ["expired", () => craft({ expiry: String(clock.now) }), "expired"],
      ["a wrong password", () => craft({ secret: THIRD_SECRET, expiry: future }), "mac"],
      ["the Fe26.1 prefix, valid mac", () => craft({ prefix: "Fe26.1", expiry: future }), "prefix"],
      ["a non-numeric expiry, valid mac", () => craft({ expiry: "soon" }), "expiry"],
      ["a missing expiry, valid mac", () => craft({ expiry: "" }), "expiry"],
      ["a ~3 version suffix", async () => (await genuine()).replace(/~2$/, "~3"), "version"],
      ["password id __proto__, valid mac", () => ironSealWithId("__proto__"), "password-id"],
      ["password id constructor, valid mac", () => ironSealWithId("constructor"), "password-id"],
      ["valid mac over a JSON array", () => craft({ payload: '["user","ann"]', expiry: future }), "payload"],
    ];

    for (const [name, make, reason] of cases) {
      it(`${name} -> ${reason}`, async () => {
        const value = await make();
        suspicious.messages.length = 0; // making a genuine cookie is not part of the case
        const res = await get(a, "/", value);
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal({ data: {}, empty: true });
        expect(suspicious.messages).to.deep.equal([{ reason, store: "cookie" }]);
        expect(cookieValue(res), "the bad cookie is cleared").to.equal("");
      });
    }

    it("a cookie over 4096 bytes -> oversize, even with a valid mac", async () => {
      const value = craft({ payload: JSON.stringify({ blob: "x".repeat(3300) }), expiry: future });
      expect(value.length).to.be.above(4096);
      const res = await get(a, "/", value);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ data: {}, empty: true });
      expect(suspicious.messages).to.deep.equal([{ reason: "oversize", store: "cookie" }]);
    });

    it("a write after a bad cookie starts a fresh session that reads back", async () => {
      const res = await get(a, "/write?user=eve", "garbage");
      expect(res.status).to.equal(200);
      const value = cookieValue(res)!;
      expect((await get(a, "/", value)).body).to.deep.equal({ data: { user: "eve" }, empty: false });
    });
  });

  describe("overflow", () => {
    function overflowApp() {
      const a = app({}, new Clock());
      const errors: unknown[] = [];
      a.koa.on("error", (err: unknown) => errors.push(err));
      return { a, errors };
    }

    it("answers 500 with no Set-Cookie and emits a CookieOverflowError for ~5000 bytes of data", async () => {
      const { a, errors } = overflowApp();
      const res = await get(a, "/big?n=5000");
      expect(res.status).to.equal(500);
      expect(setCookieFor(res)).to.equal(undefined);
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(CookieOverflowError);
      expect(errors[0]).to.have.property("code", "E_COOKIE_OVERFLOW");
      expect((errors[0] as Error).message).to.match(/4096/);
    });

    it("stores data just under the limit, and it round-trips", async () => {
      const { a, errors } = overflowApp();
      // Largest blob (in 16-byte AES blocks) whose Set-Cookie fits: one block more must overflow.
      let n = 3200;
      let res = await get(a, `/big?n=${n}`);
      while (res.status === 500 && n > 2000) {
        n -= 16;
        res = await get(a, `/big?n=${n}`);
      }
      expect(res.status).to.equal(200);
      const line = setCookieFor(res)!;
      const bytes = Buffer.byteLength(line);
      expect(bytes, "Set-Cookie bytes").to.be.at.most(4096);
      // One AES block adds at most 22 base64url characters: a fitting size this close proves the limit is 4096.
      expect(bytes, "Set-Cookie bytes").to.be.above(4096 - 22);
      expect((await get(a, `/big?n=${n + 16}`)).status).to.equal(500);
      errors.length = 0;

      const back = await get(a, "/", cookieValue(res)!);
      expect(back.status).to.equal(200);
      expect(back.body.data.blob).to.equal("x".repeat(n));
      expect(errors).to.deep.equal([]);
      expect(suspicious.messages).to.deep.equal([]);
    });
  });

  describe("lazy loading", () => {
    it("a route that never touches the session ignores even a garbage cookie: no Set-Cookie, no Vary, no unsealing", async () => {
      const res = await get(app({}, new Clock()), "/plain", "garbage*that*would*be*refused");
      expect(res.status).to.equal(200);
      expect(res.text).to.equal("no session here");
      expect(res.headers["set-cookie"]).to.equal(undefined);
      expect(res.headers.vary).to.equal(undefined);
      expect(suspicious.messages).to.deep.equal([]);
    });

    it("while a route that reads it does unseal (and reports) the same cookie", async () => {
      const res = await get(app({}, new Clock()), "/", "garbage*that*would*be*refused");
      expect(res.headers.vary).to.equal("Cookie");
      expect(suspicious.messages).to.deep.equal([{ reason: "malformed", store: "cookie" }]);
    });
  });

  describe("expiry on the injected clock", () => {
    it("a cookie older than expireAfter gives an empty session (reason expired)", async () => {
      const clock = new Clock();
      const a = app({ expireAfter: 3600 }, clock);
      const value = await written(a, "user=ann");

      clock.advance(3599);
      expect((await get(a, "/", value)).body).to.deep.equal({ data: { user: "ann" }, empty: false });
      expect(suspicious.messages).to.deep.equal([]);

      clock.advance(1);
      const res = await get(a, "/", value);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ data: {}, empty: true });
      expect(suspicious.messages).to.deep.equal([{ reason: "expired", store: "cookie" }]);
    });

    it("an expired cookie is refused by an app that never saw it (no cache involved)", async () => {
      const clock = new Clock();
      const value = await written(app({ expireAfter: 3600 }, clock), "user=ann");
      clock.advance(3600);
      expect((await get(app({ expireAfter: 3600 }, clock), "/", value)).body).to.deep.equal({
        data: {},
        empty: true,
      });
      expect(suspicious.messages).to.deep.equal([{ reason: "expired", store: "cookie" }]);
    });

    it("absoluteTimeout ends a session kept active by requests, at createdAt + absoluteTimeout", async () => {
      const clock = new Clock();
      const t0 = clock.now;
      const a = app({ expireAfter: 3600, absoluteTimeout: 7200 }, clock);
      let value = await written(a, "user=ann");

      // A request every 30 minutes keeps it alive past expireAfter. Each refresh moves the sealed expiry to
      // now + 1h, capped at t0 + 2h; once the cap is reached there is nothing left to refresh.
      const sealedExpiries: (number | undefined)[] = [];
      for (let step = 1; step <= 3; step++) {
        clock.advance(1800);
        const res = await get(a, "/", value);
        expect(res.body, `after ${step * 30} min`).to.deep.equal({ data: { user: "ann" }, empty: false });
        const refreshed = cookieValue(res);
        sealedExpiries.push(refreshed === undefined ? undefined : Number(refreshed.split("*")[5]));
        value = refreshed ?? value;
      }
      expect(sealedExpiries).to.deep.equal([t0 + 5400_000, t0 + 7200_000, undefined]);

      clock.advance(1799); // t0 + 2h - 1s: still alive
      expect((await get(a, "/", value)).body).to.deep.equal({ data: { user: "ann" }, empty: false });
      expect(suspicious.messages).to.deep.equal([]);

      clock.advance(1); // t0 + 2h
      const res = await get(a, "/", value);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ data: {}, empty: true });
      // The sealed expiry is capped at the absolute deadline, so the seal itself has expired by then.
      expect(suspicious.messages).to.deep.equal([{ reason: "expired", store: "cookie" }]);
    });

    it("absoluteTimeout is enforced from the sealed creation time: a still-valid older cookie -> absolute-timeout", async () => {
      const clock = new Clock();
      // Written while no absoluteTimeout was configured: its seal is valid for a day.
      const value = await written(app({ expireAfter: 86400 }, clock), "user=ann");
      const strict = app({ expireAfter: 86400, absoluteTimeout: 7200 }, clock);

      clock.advance(7199);
      expect((await get(strict, "/", value)).body).to.deep.equal({ data: { user: "ann" }, empty: false });

      clock.advance(1);
      const res = await get(strict, "/", value);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ data: {}, empty: true });
      expect(suspicious.messages).to.deep.equal([{ reason: "absolute-timeout", store: "cookie" }]);
    });
  });
});
