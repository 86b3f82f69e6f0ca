import { expect } from "chai";
import { Application, ConfigError, Handler, InvalidCsrfTokenError, type RoutesDefinition } from "stoat";
import request from "supertest";
import { csrfTokenMatches, maskCsrfToken, newCsrfSecret } from "../../src/session/csrf_token.js";
import { removeScratch, STORES, storeOpener } from "../hardening/stores.js";
import { cookieValue, SECRET, testApp } from "../support/app.js";

// CSRF protection as an attacker meets it: a state-changing request needs a same-origin request carrying a
// token of this session; anything else is a 403 that writes nothing.

const COOKIE = "_stoat_session";

class Forms extends Handler {
  /** A form page: the hidden field and a second token (each read is masked afresh). */
  async form() {
    this.json({ field: this.csrfField(), token: this.csrfToken, again: this.csrfToken });
  }
  async read() {
    this.json(this.session.toJSON());
  }
  /** Changes the session, so a refused request that reached it would show. */
  async write() {
    this.session.set("written", this.params.v ?? "yes");
    this.json({ ok: true });
  }
  async signIn() {
    this.session.cycleKey();
    this.session.set("user", "ada");
    this.json({ token: this.csrfToken });
  }
  async signOut() {
    this.session.flush();
    this.json({ ok: true });
  }
}

/** An API authenticated otherwise: no token asked. */
class Api extends Handler {
  static csrf = false;
  async create() {
    this.session.set("api", "yes");
    this.json({ ok: true });
  }
}

const routes: RoutesDefinition = (r) => {
  r.get("/form", Forms, "form");
  r.get("/read", Forms, "read");
  for (const m of ["post", "put", "patch", "delete"] as const) r[m]("/write", Forms, "write");
  r.get("/write", Forms, "write");
  r.post("/sign_in", Forms, "signIn");
  r.post("/sign_out", Forms, "signOut");
  r.post("/api", Api, "create");
};

/** A browser's visit to the form page: its cookie and a token. */
async function visit(app: ReturnType<typeof testApp>) {
  const page = await request(app.callback()).get("/form");
  expect(page.status).to.equal(200);
  const cookie = `${COOKIE}=${cookieValue(page)}`;
  return {
    cookie,
    token: page.body.token as string,
    again: page.body.again as string,
    field: page.body.field,
  };
}

const post = (app: ReturnType<typeof testApp>, cookie: string) =>
  request(app.callback()).post("/write").set("Cookie", cookie).type("form");

describe("CSRF tokens", () => {
  it("are masked afresh on every read, and every mask opens to the session's secret", () => {
    const secret = newCsrfSecret();
    const tokens = Array.from({ length: 50 }, () => maskCsrfToken(secret));
    expect(new Set(tokens).size).to.equal(50);
    for (const token of tokens) expect(csrfTokenMatches(token, secret)).to.equal(true);
  });

  it("refuse another session's token, a flipped bit, a cut or padded token, and non-strings", () => {
    const secret = newCsrfSecret();
    const token = maskCsrfToken(secret);
    expect(csrfTokenMatches(maskCsrfToken(newCsrfSecret()), secret)).to.equal(false);
    const flipped = `${token.slice(0, 40)}${token[40] === "A" ? "B" : "A"}${token.slice(41)}`;
    expect(csrfTokenMatches(flipped, secret)).to.equal(false);
    for (const bad of [
      token.slice(1),
      `${token}A`,
      "",
      secret,
      token.replace(/./, "+"),
      42,
      undefined,
      [token],
    ]) {
      expect(csrfTokenMatches(bad, secret), String(bad)).to.equal(false);
    }
  });
});

describe("the csrf middleware (default)", () => {
  const app = testApp({ routes, middleware: ["bodyParser", "session", "csrf", "flash"] });

  it("is in the default middleware list, after session", () => {
    const configured = Application.configure((config) => {
      config.session.options = { secret: SECRET };
    });
    expect(configured.config.middleware).to.deep.equal(["bodyParser", "session", "csrf", "flash"]);
  });

  it("reading the token starts a session (the form page sets the cookie) and csrfField holds a token", async () => {
    const { cookie, token, again, field } = await visit(app);
    expect(cookie).to.match(/^_stoat_session=Fe26\.2\*/);
    expect(token).to.match(/^[A-Za-z0-9_-]{86}$/);
    expect(again).to.not.equal(token);
    expect(field).to.match(/^<input type="hidden" name="_csrf" value="[A-Za-z0-9_-]{86}">$/);
  });

  it("lets a same-origin POST through with the token in the form field or the X-CSRF-Token header", async () => {
    const { cookie, token, again } = await visit(app);
    const byField = await post(app, cookie).send({ _csrf: token, v: "field" });
    expect(byField.status).to.equal(200);
    const next = `${COOKIE}=${cookieValue(byField)}`;
    const byHeader = await post(app, next).set("X-CSRF-Token", again).send({ v: "header" });
    expect(byHeader.status).to.equal(200);
    const sameOrigin = await post(app, `${COOKIE}=${cookieValue(byHeader)}`)
      .set("Origin", "http://127.0.0.1")
      .set("Host", "127.0.0.1")
      .send({ _csrf: token, v: "origin" });
    expect(sameOrigin.status).to.equal(200);
  });

  for (const method of ["post", "put", "patch", "delete"] as const) {
    it(`answers ${method.toUpperCase()} without a token 403 (E_CSRF), writing nothing`, async () => {
      const { cookie } = await visit(app);
      const refused = await request(app.callback())[method]("/write").set("Cookie", cookie);
      expect(refused.status).to.equal(403);
      expect(refused.text).to.contain("CSRF token");
      expect(refused.headers["set-cookie"]).to.equal(undefined);
      const after = await request(app.callback()).get("/read").set("Cookie", cookie);
      expect(after.body).to.deep.equal({});
    });
  }

  it("asks no token of GET, HEAD and OPTIONS", async () => {
    expect((await request(app.callback()).get("/write")).status).to.equal(200);
    expect((await request(app.callback()).head("/write")).status).to.equal(200);
    expect((await request(app.callback()).options("/write")).status).to.equal(204);
  });

  it("refuses another session's token, and a token with no session at all", async () => {
    const mine = await visit(app);
    const theirs = await visit(app);
    expect((await post(app, mine.cookie).send({ _csrf: theirs.token })).status).to.equal(403);
    expect(
      (await request(app.callback()).post("/write").type("form").send({ _csrf: mine.token })).status,
    ).to.equal(403);
  });

  for (const [label, header, value] of [
    ["an Origin of another site", "Origin", "http://evil.example"],
    ["an Origin of another port", "Origin", "http://127.0.0.1:8081"],
    ["an Origin of another scheme", "Origin", "https://127.0.0.1"],
    ['the Origin "null" (a sandboxed page)', "Origin", "null"],
    ["Sec-Fetch-Site: cross-site", "Sec-Fetch-Site", "cross-site"],
    ["Sec-Fetch-Site: same-site (a sibling subdomain)", "Sec-Fetch-Site", "same-site"],
  ] as const) {
    it(`refuses ${label} even with a valid token`, async () => {
      const { cookie, token } = await visit(app);
      const res = await post(app, cookie).set("Host", "127.0.0.1").set(header, value).send({ _csrf: token });
      expect(res.status).to.equal(403);
      expect(res.text).to.match(/another (origin|site)/);
      expect(res.headers["set-cookie"]).to.equal(undefined);
    });
  }

  it("cycleKey() (sign-in) and flush() (sign-out) end the tokens handed out before", async () => {
    const before = await visit(app);
    const signedIn = await request(app.callback())
      .post("/sign_in")
      .set("Cookie", before.cookie)
      .type("form")
      .send({ _csrf: before.token });
    expect(signedIn.status).to.equal(200);
    const cookie = `${COOKIE}=${cookieValue(signedIn)}`;
    expect((await post(app, cookie).send({ _csrf: before.token })).status).to.equal(403);
    const fresh = signedIn.body.token as string;
    const written = await post(app, cookie).send({ _csrf: fresh });
    expect(written.status).to.equal(200);
    const current = `${COOKIE}=${cookieValue(written)}`;
    const signedOut = await request(app.callback())
      .post("/sign_out")
      .set("Cookie", current)
      .set("X-CSRF-Token", fresh);
    expect(signedOut.status).to.equal(200);
    const out = `${COOKIE}=${cookieValue(signedOut) ?? ""}`;
    expect((await post(app, out).send({ _csrf: fresh })).status).to.equal(403);
  });

  it("lets a handler with `static csrf = false` through without a token", async () => {
    const res = await request(app.callback()).post("/api");
    expect(res.status).to.equal(200);
  });

  it("leaves requests no handler answers to the router: 404 for an unknown path, 405 for another method", async () => {
    expect((await request(app.callback()).post("/nowhere")).status).to.equal(404);
    expect((await request(app.callback()).post("/form")).status).to.equal(405);
  });

  it("exports InvalidCsrfTokenError with the code E_CSRF and status 403", () => {
    const error = new InvalidCsrfTokenError("x");
    expect(error.code).to.equal("E_CSRF");
    expect(error.status).to.equal(403);
  });

  it("fails at boot before session or without it", () => {
    expect(() => testApp({ routes, middleware: ["bodyParser", "csrf", "session"] })).to.throw(
      ConfigError,
      '"csrf" keeps its data in the session, so it must come after "session"',
    );
    expect(() => testApp({ routes, middleware: ["bodyParser", "csrf"] })).to.throw(
      ConfigError,
      '"csrf" needs "session"',
    );
  });
});

describe("the csrf middleware on every store", () => {
  const stores = storeOpener(routes, ["bodyParser", "session", "csrf", "flash"]);
  after(async () => {
    await stores.close();
    removeScratch();
  });

  for (const store of STORES) {
    it(`${store.label}: a token from the form page lets the POST write; none is refused with nothing written`, async function () {
      const { app } = await stores.open(this, store);
      const { cookie, token } = await visit(app);
      const refused = await post(app, cookie).send({ v: "forged" });
      expect(refused.status).to.equal(403);
      const accepted = await post(app, cookie).send({ _csrf: token, v: "mine" });
      expect(accepted.status).to.equal(200);
      const current = cookieValue(accepted) ?? cookie.slice(COOKIE.length + 1);
      const after = await request(app.callback()).get("/read").set("Cookie", `${COOKIE}=${current}`);
      expect(after.body).to.deep.equal({ written: "mine" });
      // The secret was kept with the session: a token from the first page still works on the next request.
      const again = await post(app, `${COOKIE}=${current}`).set("X-CSRF-Token", token).send({ v: "again" });
      expect(again.status).to.equal(200);
    });
  }
});
