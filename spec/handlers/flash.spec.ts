import { expect } from "chai";
import {
  type Application,
  Handler,
  InvalidSessionValueError,
  type Routes,
  SessionNotEnabledError,
} from "stoat";
import request from "supertest";
import { cookieValue, setCookieFor, testApp } from "../support/app.js";

class FlashHandler extends Handler {
  async set() {
    this.flash.set("notice", "hi");
    this.json({});
  }
  async setTwo() {
    this.flash.set("notice", "hi");
    this.flash.set("alert", "careful");
    this.json({});
  }
  async show() {
    this.json({ notice: this.flash.get("notice") ?? null, alert: this.flash.get("alert") ?? null });
  }
  async now() {
    this.flash.now("notice", "right now");
    this.json({ notice: this.flash.get("notice") ?? null });
  }
  async keep() {
    this.flash.keep("notice");
    this.json({ notice: this.flash.get("notice") ?? null, alert: this.flash.get("alert") ?? null });
  }
  async keepAll() {
    this.flash.keep();
    this.json({ notice: this.flash.get("notice") ?? null, alert: this.flash.get("alert") ?? null });
  }
  async setAndRead() {
    this.flash.set("notice", "hi");
    this.json({ notice: this.flash.get("notice") ?? null });
  }
  /** A JSON endpoint that never looks at the flash (nor the session). */
  async api() {
    this.json({ ok: true });
  }
  /** Uses the session, not the flash. */
  async counter() {
    this.session.set("count", String(Number(this.session.get("count") ?? "0") + 1));
    this.json({ count: this.session.get("count") });
  }
  async sessionJson() {
    this.json({ session: this.session.toJSON(), notice: this.flash.get("notice") ?? null });
  }
  async setWithUserKey() {
    this.session.set("user", "ada");
    this.flash.set("notice", "hi");
    this.json({ session: this.session.toJSON() });
  }
  async invalid() {
    const results: Record<string, unknown>[] = [];
    const bad: [string, unknown, unknown][] = [
      ["number", "notice", 42],
      ["object", "notice", { text: "hi" }],
      ["array", "notice", ["hi"]],
      ["null", "notice", null],
      ["undefined", "notice", undefined],
      ["boolean", "notice", true],
      ["bigint", "notice", 1n],
      ["number key", 1, "hi"],
    ];
    for (const [label, key, message] of bad) {
      for (const method of ["set", "now"] as const) {
        try {
          (this.flash[method] as (k: unknown, m: unknown) => void).call(this.flash, key, message);
          results.push({ label, method, thrown: false });
        } catch (err) {
          results.push({
            label,
            method,
            thrown: true,
            isInvalid: err instanceof InvalidSessionValueError,
            code: (err as InvalidSessionValueError).code,
          });
        }
      }
    }
    this.json({ results, notice: this.flash.get("notice") ?? null });
  }
}

function routes(r: Routes): void {
  for (const action of [
    "set",
    "setTwo",
    "show",
    "now",
    "keep",
    "keepAll",
    "setAndRead",
    "api",
    "counter",
    "sessionJson",
    "setWithUserKey",
    "invalid",
  ]) {
    r.get(`/${action}`, FlashHandler, action);
  }
}

describe("flash (over HTTP)", () => {
  let app: Application;
  let agent: ReturnType<typeof request.agent>;

  beforeEach(() => {
    app = testApp({ routes });
    agent = request.agent(app.callback());
  });

  describe("lifecycle over three requests", () => {
    it("shows a message in the next request, then forgets it", async () => {
      const first = await agent.get("/set").expect(200, {});
      expect(cookieValue(first), "the message is stored in the session").to.be.a("string").and.not.equal("");

      const second = await agent.get("/show").expect(200, { notice: "hi", alert: null });
      expect(cookieValue(second), "the session, now empty, is cleared").to.equal("");

      const third = await agent.get("/show").expect(200, { notice: null, alert: null });
      expect(setCookieFor(third)).to.equal(undefined);
    });

    it("a message set again in the next request lives one request longer", async () => {
      await agent.get("/set").expect(200);
      await agent.get("/setAndRead").expect(200, { notice: "hi" });
      await agent.get("/show").expect(200, { notice: "hi", alert: null });
      await agent.get("/show").expect(200, { notice: null, alert: null });
    });

    it("shows a message to the request after the one that set it, not to a second browser", async () => {
      await agent.get("/set").expect(200);
      const other = request.agent(app.callback());
      await other.get("/show").expect(200, { notice: null, alert: null });
      await agent.get("/show").expect(200, { notice: "hi", alert: null });
    });
  });

  describe("now", () => {
    it("is visible in the same request only and writes nothing", async () => {
      const res = await agent.get("/now").expect(200, { notice: "right now" });
      expect(setCookieFor(res)).to.equal(undefined);
      await agent.get("/show").expect(200, { notice: null, alert: null });
    });

    it("replaces, for this request only, a message left by the previous one", async () => {
      await agent.get("/set").expect(200);
      await agent.get("/now").expect(200, { notice: "right now" });
      await agent.get("/show").expect(200, { notice: null, alert: null });
    });
  });

  describe("keep", () => {
    it("carries one message one more request, and only that one", async () => {
      await agent.get("/setTwo").expect(200);
      await agent.get("/keep").expect(200, { notice: "hi", alert: "careful" });
      await agent.get("/show").expect(200, { notice: "hi", alert: null });
      await agent.get("/show").expect(200, { notice: null, alert: null });
    });

    it("with no key carries every message one more request", async () => {
      await agent.get("/setTwo").expect(200);
      await agent.get("/keepAll").expect(200, { notice: "hi", alert: "careful" });
      await agent.get("/show").expect(200, { notice: "hi", alert: "careful" });
      await agent.get("/show").expect(200, { notice: null, alert: null });
    });
  });

  it("keeps a message set and read in the same request for the next one", async () => {
    await agent.get("/setAndRead").expect(200, { notice: "hi" });
    await agent.get("/show").expect(200, { notice: "hi", alert: null });
    await agent.get("/show").expect(200, { notice: null, alert: null });
  });

  describe("requests that do not touch the flash", () => {
    it("a JSON endpoint between set and read leaves the message for the read", async () => {
      await agent.get("/set").expect(200);
      const api = await agent.get("/api").expect(200, { ok: true });
      expect(setCookieFor(api)).to.equal(undefined);
      await agent.get("/show").expect(200, { notice: "hi", alert: null });
      await agent.get("/show").expect(200, { notice: null, alert: null });
    });

    it("a request that changes the session but not the flash leaves the message for the read", async () => {
      await agent.get("/set").expect(200);
      await agent.get("/counter").expect(200, { count: "1" });
      await agent.get("/counter").expect(200, { count: "2" });
      await agent.get("/sessionJson").expect(200, { session: { count: "2" }, notice: "hi" });
      await agent.get("/sessionJson").expect(200, { session: { count: "2" }, notice: null });
    });
  });

  describe("and the session", () => {
    it("flash values are not in this.session.toJSON(), in the request that sets them or the next", async () => {
      await agent.get("/setWithUserKey").expect(200, { session: { user: "ada" } });
      await agent.get("/sessionJson").expect(200, { session: { user: "ada" }, notice: "hi" });
      await agent.get("/sessionJson").expect(200, { session: { user: "ada" }, notice: null });
    });
  });

  it("refuses non-string messages and non-string keys with InvalidSessionValueError", async () => {
    const res = await agent.get("/invalid").expect(200);
    const results = res.body.results as Record<string, unknown>[];
    expect(results).to.have.length(16);
    for (const result of results) {
      expect(result, JSON.stringify(result)).to.deep.equal({
        label: result.label,
        method: result.method,
        thrown: true,
        isInvalid: true,
        code: "E_INVALID_SESSION_VALUE",
      });
    }
    expect(res.body.notice).to.equal(null);
    expect(setCookieFor(res)).to.equal(undefined);
  });

  describe('without the "flash" middleware', () => {
    it("this.flash answers 500 and the app emits SessionNotEnabledError", async () => {
      const plain = testApp({ routes, middleware: ["session"], env: "production" });
      const errors: unknown[] = [];
      plain.koa.on("error", (err) => errors.push(err));
      const http = request(plain.callback());

      const res = await http.get("/set").expect(500);
      expect(res.text).to.equal("Internal Server Error");
      expect(setCookieFor(res)).to.equal(undefined);
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(SessionNotEnabledError);
      expect((errors[0] as SessionNotEnabledError).code).to.equal("E_SESSION_NOT_ENABLED");
      expect((errors[0] as Error).message).to.include('"flash"');
    });

    it("leaves the session itself working", async () => {
      const plain = testApp({ routes, middleware: ["session"] });
      const errors: unknown[] = [];
      plain.koa.on("error", (err) => errors.push(err));
      const sessionAgent = request.agent(plain.callback());
      await sessionAgent.get("/counter").expect(200, { count: "1" });
      await sessionAgent.get("/counter").expect(200, { count: "2" });
      expect(errors).to.deep.equal([]);
    });
  });
});
