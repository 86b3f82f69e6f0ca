import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import {
  Application,
  type Config,
  ConfigError,
  Handler,
  type RoutesDefinition,
  type SessionStore,
  SessionStoreUnavailableError,
} from "stoat";
import request from "supertest";
import { SECRET, testApp } from "../support/app.js";

// Every response carries the security headers, error answers included (Koa's error path drops every header
// a response had), and `config.securityHeaders` changes, removes or adds them.

const DEFAULTS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "SAMEORIGIN",
  "referrer-policy": "strict-origin-when-cross-origin",
};

class Pages extends Handler {
  async ok() {
    this.respond("ok");
  }
  async boom() {
    throw new Error("boom");
  }
  async away() {
    this.redirect("//evil.example");
  }
  async framed() {
    this.ctx.set("X-Frame-Options", "DENY"); // a handler may still decide for its own response
    this.respond("framed");
  }
  async write() {
    this.session.set("k", "v");
    this.redirect("/", { status: 303 });
  }
}

const routes: RoutesDefinition = (r) => {
  for (const action of ["ok", "boom", "away", "framed", "write"]) r.get(`/${action}`, Pages, action);
  r.post("/ok", Pages, "ok");
};

/** A store that is down: every call fails as a real one does after its deadline. */
const downStore: SessionStore = {
  name: "down",
  load: () => Promise.reject(new SessionStoreUnavailableError("down")),
  save: () => Promise.reject(new SessionStoreUnavailableError("down")),
  touch: () => Promise.reject(new SessionStoreUnavailableError("down")),
  destroy: () => Promise.reject(new SessionStoreUnavailableError("down")),
};

describe("security headers", () => {
  const app = testApp({ routes, middleware: ["bodyParser", "session", "csrf", "flash"] });
  const production = testApp({ routes, env: "production" });

  for (const [label, make, status] of [
    ["a page", (a: Application) => request(a.callback()).get("/ok"), 200],
    ["an unknown path (404)", (a: Application) => request(a.callback()).get("/nowhere"), 404],
    ["another method (405)", (a: Application) => request(a.callback()).delete("/ok"), 405],
    ["a forged POST (403)", (a: Application) => request(a.callback()).post("/ok"), 403],
    ["an unsafe redirect (400)", (a: Application) => request(a.callback()).get("/away"), 400],
    ["a body on GET (400)", (a: Application) => request(a.callback()).get("/ok").send({ a: "b" }), 400],
    [
      "a handler error in development (500 page)",
      (a: Application) => request(a.callback()).get("/boom"),
      500,
    ],
  ] as const) {
    it(`are on ${label}`, async () => {
      const res = await make(app);
      expect(res.status).to.equal(status);
      expect(res.headers).to.include(DEFAULTS);
    });
  }

  it("are on a handler error in production (Koa's plain 500)", async () => {
    const res = await request(production.callback()).get("/boom");
    expect(res.status).to.equal(500);
    expect(res.text).to.equal("Internal Server Error");
    expect(res.headers).to.include(DEFAULTS);
  });

  it("are on the 503 of a store that is down, whose status line has its own reason phrase", async () => {
    const down = testApp({ routes, store: downStore });
    const server = http.createServer(down.callback());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      // The handler answered 303 See Other before the save failed: the phrase must not survive.
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get({ port, host: "127.0.0.1", path: "/write" }, resolve).on("error", reject),
      );
      res.resume();
      expect(res.statusCode).to.equal(503);
      expect(res.statusMessage).to.equal("Service Unavailable");
      expect(res.headers).to.include(DEFAULTS);
      expect(res.headers["retry-after"]).to.equal("5");
      expect(res.headers.location).to.equal(undefined);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("let a handler set its own value for its response", async () => {
    const res = await request(app.callback()).get("/framed");
    expect(res.headers["x-frame-options"]).to.equal("DENY");
  });

  it("are changed, removed (false) or added through config.securityHeaders", async () => {
    const configured = appWith((headers) => {
      headers["X-Frame-Options"] = "DENY";
      headers["Referrer-Policy"] = false;
      headers["Content-Security-Policy"] = "default-src 'self'";
    });
    const res = await request(configured.callback()).get("/ok");
    expect(res.headers["x-frame-options"]).to.equal("DENY");
    expect(res.headers["referrer-policy"]).to.equal(undefined);
    expect(res.headers["content-security-policy"]).to.equal("default-src 'self'");
    expect(res.headers["x-content-type-options"]).to.equal("nosniff");
    const error = await request(configured.callback()).get("/nowhere");
    expect(error.headers["x-frame-options"]).to.equal("DENY");
    expect(error.headers["referrer-policy"]).to.equal(undefined);
  });

  for (const [label, name, value, message] of [
    ["a value that is not a string", "X-Frame-Options", 1, "must be a string"],
    ["a value with CR LF", "X-Frame-Options", "DENY\r\nSet-Cookie: a=b", "without control characters"],
    ["a name that is no header name", "X Frame", "DENY", "is no header name"],
  ] as const) {
    it(`fail at boot with a ConfigError for ${label}`, () => {
      expect(() =>
        appWith((headers) => {
          (headers as Record<string, unknown>)[name] = value;
        }),
      )
        .to.throw(ConfigError, message)
        .with.property("code", "E_CONFIG");
    });
  }
});

/** The spec's app with `change` applied to the default security headers. */
function appWith(change: (headers: Config["securityHeaders"]) => void): Application {
  return Application.configure((config) => {
    config.routes = routes;
    config.session.options = { secret: SECRET };
    change(config.securityHeaders);
  });
}
