import { expect } from "chai";
import { Handler, type Routes, SessionStoreUnavailableError } from "stoat";
import request from "supertest";
import { testApp } from "../support/app.js";

// A handler's uncaught error: in development a page with the error's name, message and stack (JSON for a
// client that asks for it); in production the generic body Koa gives, with nothing of the error.

class Broken extends Handler {
  async boom() {
    this.ctx.set("Location", "/done");
    throw new RangeError('<script>alert("x")</script> & more');
  }
  async missing() {
    this.ctx.throw(404, "no such post");
  }
  async outage() {
    throw new SessionStoreUnavailableError("the store is down", { retryAfter: 7 });
  }
}

const routes = (r: Routes) => {
  r.get("/boom", Broken, "boom");
  r.get("/missing", Broken, "missing");
  r.get("/outage", Broken, "outage");
};

/** The app, with its error log kept for the spec instead of printed. */
function app(env: string) {
  const application = testApp({ routes, env });
  const errors: unknown[] = [];
  application.koa.on("error", (err) => errors.push(err));
  return { application, errors, http: request(application.callback()) };
}

describe("uncaught handler errors", () => {
  describe("in development", () => {
    it("answers 500 with an HTML page: the error's name, message and stack, escaped", async () => {
      const { http, errors } = app("development");
      const res = await http.get("/boom").set("Accept", "text/html").expect(500);
      expect(res.headers["content-type"]).to.equal("text/html; charset=utf-8");
      expect(res.headers.location).to.equal(undefined); // the handler's headers describe a success
      expect(res.headers["cache-control"]).to.equal("no-store");
      expect(res.text).to.include('<h1 id="error-name">RangeError</h1>');
      expect(res.text).to.include("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more");
      expect(res.text).not.to.include("<script>");
      const stack = /<pre id="error-stack">([^<]*)<\/pre>/.exec(res.text)?.[1];
      expect(stack).to.match(/^RangeError: &lt;script&gt;/);
      expect(stack).to.include("error_page.spec.ts"); // the frame in the handler above
      expect(errors).to.have.length(1); // still logged, as every 5xx
    });

    it("answers JSON to a client that asks for it", async () => {
      const { http } = app("development");
      const res = await http.get("/boom").set("Accept", "application/json").expect(500);
      expect(res.headers["content-type"]).to.equal("application/json; charset=utf-8");
      expect(res.body.error.name).to.equal("RangeError");
      expect(res.body.error.message).to.equal('<script>alert("x")</script> & more');
      expect(res.body.error.stack).to.match(/^RangeError: /);
    });

    it("leaves a 4xx and a store outage (503, Retry-After) as they are", async () => {
      const { http } = app("development");
      const missing = await http.get("/missing").expect(404);
      expect(missing.text).to.equal("no such post");
      const outage = await http.get("/outage").expect(503);
      expect(outage.headers["retry-after"]).to.equal("7");
    });
  });

  describe("in production", () => {
    for (const accept of ["text/html", "application/json"]) {
      it(`answers the generic 500 to ${accept}, with nothing of the error`, async () => {
        const { http, errors } = app("production");
        const res = await http.get("/boom").set("Accept", accept).expect(500);
        expect(res.text).to.equal("Internal Server Error");
        expect(res.text).not.to.include("RangeError");
        expect(errors).to.have.length(1);
      });
    }
  });
});
