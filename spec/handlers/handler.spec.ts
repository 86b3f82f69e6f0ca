import { expect } from "chai";
import {
  type Application,
  ConfigError,
  Handler,
  type HandlerClass,
  type Routes,
  SessionNotEnabledError,
} from "stoat";
import request from "supertest";
import { testApp } from "../support/app.js";

/** Jets style: one handler, named actions. */
class PostsHandler extends Handler {
  async index() {
    this.json({ action: "index" });
  }
  async show() {
    this.json({ action: "show", id: this.params.id });
  }
  async create() {
    this.json({ action: "create", title: this.params.title ?? null }, { status: 201 });
  }
  async update() {
    this.json({ action: "update", method: this.request.method, id: this.params.id });
  }
  async destroy() {
    this.head(204);
  }
  async get() {
    this.respond("default get action");
  }
}

/** Marten style: actions named after HTTP methods. */
class HelloHandler extends Handler {
  async get() {
    this.respond("Hello World!");
  }
  async post() {
    this.respond("posted", { status: 201 });
  }
}

class EverythingHandler extends Handler {
  async get() {
    this.respond("get");
  }
  async post() {
    this.respond("post");
  }
  async put() {
    this.respond("put");
  }
  async patch() {
    this.respond("patch");
  }
  async delete() {
    this.respond("delete");
  }
}

class PostOnlyHandler extends Handler {
  async post() {
    this.respond("posted");
  }
}

class BaseHandler extends Handler {
  async shared() {
    this.json({ from: "base", handler: this.constructor.name });
  }
}
class DerivedHandler extends BaseHandler {}

class HelpersHandler extends Handler {
  async json201() {
    this.json({ created: true }, { status: 201 });
  }
  async jsonDefault() {
    this.json({ ok: true, list: [1, "two"] });
  }
  async jsonNull() {
    this.json(null);
  }
  async text() {
    this.respond("plain text");
  }
  async csv() {
    this.respond("a,b\n1,2\n", { status: 202, contentType: "text/csv; charset=utf-8" });
  }
  async shortType() {
    this.respond("<p>short</p>", { contentType: "html" });
  }
  async page() {
    this.html("<h1>Hi</h1>");
  }
  async missingPage() {
    this.html("<h1>Not here</h1>", { status: 404 });
  }
  async go() {
    this.redirect("/elsewhere");
  }
  async goSeeOther() {
    this.redirect("/elsewhere", { status: 303 });
  }
  async noContent() {
    this.head(204);
  }
  async ok() {
    this.head(200);
  }
  async created() {
    this.head(201);
  }
  async fillSession() {
    this.session.set("user", "ada");
    this.session.set("__proto__", "p");
    this.flash.set("notice", "hi");
    this.json({});
  }
  async showSession() {
    this.json(this.session);
  }
  async showParams() {
    const params = this.params;
    this.json({
      params,
      nullPrototype: Object.getPrototypeOf(params) === null,
      ownKeys: Object.keys(params).sort(),
      sameObject: this.params === params,
    });
  }
  async pollution() {
    const params = this.params;
    this.json({
      nullPrototype: Object.getPrototypeOf(params) === null,
      protoValue: Object.getOwnPropertyDescriptor(params, "__proto__")?.value ?? null,
      constructorValue: Object.getOwnPropertyDescriptor(params, "constructor")?.value ?? null,
      polluted: ({} as Record<string, unknown>).polluted ?? null,
      objectPrototypeKeys: Object.getOwnPropertyNames(Object.prototype).includes("polluted"),
    });
  }
  async context() {
    this.json({
      query: this.query,
      sameRequest: this.request === this.ctx.request,
      sameQuery: this.query === this.ctx.query,
      method: this.request.method,
      path: this.ctx.path,
      header: this.request.get("X-Probe"),
    });
  }
  async useSession() {
    this.session.get("user");
    this.json({});
  }
  async useCtxSession() {
    this.ctx.session.get("user");
    this.json({});
  }
}

function helperRoutes(r: Routes): void {
  for (const action of [
    "json201",
    "jsonDefault",
    "jsonNull",
    "text",
    "csv",
    "shortType",
    "page",
    "missingPage",
    "go",
    "goSeeOther",
    "noContent",
    "ok",
    "created",
    "fillSession",
    "showSession",
    "context",
    "useSession",
    "useCtxSession",
  ]) {
    r.get(`/${action}`, HelpersHandler, action);
  }
  r.get("/params/:id", HelpersHandler, "showParams");
  r.post("/params/:id", HelpersHandler, "showParams");
  r.get("/pollution", HelpersHandler, "pollution");
  r.post("/pollution", HelpersHandler, "pollution");
}

function allowOf(header: string | undefined): string[] {
  expect(header, "Allow header").to.be.a("string");
  return header!
    .split(",")
    .map((m) => m.trim())
    .sort();
}

function configureWith(define: (r: Routes) => void): () => Application {
  return () => testApp({ routes: define });
}

describe("routing and Handler (over HTTP)", () => {
  describe("Jets-style named actions", () => {
    let http: ReturnType<typeof request>;

    before(() => {
      const app = testApp({
        routes: (r) => {
          r.get("/posts", PostsHandler, "index");
          r.get("/posts/:id", PostsHandler, "show");
          r.post("/posts", PostsHandler, "create");
          r.put("/posts/:id", PostsHandler, "update");
          r.patch("/posts/:id", PostsHandler, "update");
          r.delete("/posts/:id", PostsHandler, "destroy");
          r.get("/default", PostsHandler);
          r.get("/inherited", DerivedHandler, "shared");
        },
      });
      http = request(app.callback());
    });

    it("GET runs the named action", async () => {
      await http.get("/posts").expect(200, { action: "index" });
    });

    it("passes path params", async () => {
      await http.get("/posts/42").expect(200, { action: "show", id: "42" });
    });

    it("POST runs its action", async () => {
      await http
        .post("/posts")
        .type("form")
        .send({ title: "Hello" })
        .expect(201, { action: "create", title: "Hello" });
    });

    it("PUT and PATCH run their action", async () => {
      await http.put("/posts/7").expect(200, { action: "update", method: "PUT", id: "7" });
      await http.patch("/posts/8").expect(200, { action: "update", method: "PATCH", id: "8" });
    });

    it("DELETE runs its action", async () => {
      const res = await http.delete("/posts/7").expect(204);
      expect(res.text).to.equal("");
    });

    it("without an action name, r.get runs get()", async () => {
      await http.get("/default").expect(200, "default get action");
    });

    it("runs an action inherited from a Handler superclass", async () => {
      await http.get("/inherited").expect(200, { from: "base", handler: "DerivedHandler" });
    });

    it("HEAD on a GET route answers like GET with no body", async () => {
      const get = await http.get("/posts").expect(200);
      const head = await http.head("/posts").expect(200);
      expect(head.headers["content-type"]).to.equal("application/json; charset=utf-8");
      expect(head.headers["content-length"]).to.equal(get.headers["content-length"]);
      expect(head.text ?? "").to.equal("");
    });

    it("a method no route defines for the path answers 405 with Allow", async () => {
      const res = await http.post("/posts/7").expect(405);
      expect(allowOf(res.headers.allow)).to.deep.equal(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "PUT"]);
    });

    it("an unknown path answers 404", async () => {
      const res = await http.get("/nowhere").expect(404);
      expect(res.text).to.equal("Not Found");
      await http.post("/nowhere").expect(404);
      await http.options("/nowhere").expect(404);
    });

    it("OPTIONS answers 204 with Allow, as r.route does", async () => {
      const res = await http.options("/posts/7").expect(204);
      expect(allowOf(res.headers.allow)).to.deep.equal(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "PUT"]);
      expect(res.text ?? "").to.equal("");
    });

    it("matches without regard to a trailing slash or case, and decodes path params", async () => {
      await http.get("/posts/").expect(200, { action: "index" });
      await http.get("/POSTS/42").expect(200, { action: "show", id: "42" });
      await http.get("/posts/a%20b%2Fc").expect(200, { action: "show", id: "a b/c" });
    });

    it("passes a path param of any length a request line can carry", async () => {
      const id = "x".repeat(4000);
      await http.get(`/posts/${id}`).expect(200, { action: "show", id });
    });
  });

  describe("Marten-style r.route", () => {
    let app: Application;
    let http: ReturnType<typeof request>;

    before(() => {
      app = testApp({
        routes: (r) => {
          r.route("/hello", HelloHandler);
          r.route("/everything", EverythingHandler);
          r.route("/post-only", PostOnlyHandler);
        },
      });
      http = request(app.callback());
    });

    it("dispatches GET to get()", async () => {
      const res = await http.get("/hello").expect(200, "Hello World!");
      expect(res.headers["content-type"]).to.equal("text/plain; charset=utf-8");
    });

    it("dispatches POST to post()", async () => {
      await http.post("/hello").expect(201, "posted");
    });

    it("dispatches every method to its method", async () => {
      await http.get("/everything").expect(200, "get");
      await http.post("/everything").expect(200, "post");
      await http.put("/everything").expect(200, "put");
      await http.patch("/everything").expect(200, "patch");
      await http.delete("/everything").expect(200, "delete");
    });

    for (const method of ["put", "patch", "delete"] as const) {
      it(`answers ${method.toUpperCase()} on a handler without ${method}() with 405 and Allow`, async () => {
        const res = await http[method]("/hello").expect(405);
        expect(allowOf(res.headers.allow)).to.deep.equal(["GET", "HEAD", "OPTIONS", "POST"]);
      });
    }

    it("runs no action on 405", async () => {
      const res = await http.put("/hello").expect(405);
      expect(res.text).not.to.include("Hello");
      expect(res.text).not.to.include("posted");
    });

    it("HEAD runs get() and sends no body", async () => {
      const res = await http.head("/hello").expect(200);
      expect(res.headers["content-type"]).to.equal("text/plain; charset=utf-8");
      expect(res.headers["content-length"]).to.equal(String(Buffer.byteLength("Hello World!")));
      expect(res.text ?? "").to.equal("");
    });

    it("HEAD on a handler without get() answers 405, and Allow lists neither GET nor HEAD", async () => {
      const res = await http.head("/post-only").expect(405);
      expect(allowOf(res.headers.allow)).to.deep.equal(["OPTIONS", "POST"]);
      const get = await http.get("/post-only").expect(405);
      expect(allowOf(get.headers.allow)).to.deep.equal(["OPTIONS", "POST"]);
    });

    it("OPTIONS answers 204 with Allow and an empty body", async () => {
      const res = await http.options("/hello").expect(204);
      expect(allowOf(res.headers.allow)).to.deep.equal(["GET", "HEAD", "OPTIONS", "POST"]);
      expect(res.text ?? "").to.equal("");
      const all = await http.options("/everything").expect(204);
      expect(allowOf(all.headers.allow)).to.deep.equal([
        "DELETE",
        "GET",
        "HEAD",
        "OPTIONS",
        "PATCH",
        "POST",
        "PUT",
      ]);
    });

    it("an unknown path answers 404", async () => {
      await http.get("/hello/extra").expect(404);
      await http.get("/goodbye").expect(404);
    });

    it("lists its routes by method", () => {
      expect(app.routes.filter((route) => route.path === "/hello")).to.deep.equal([
        { method: "GET", path: "/hello", handler: "HelloHandler", action: "get" },
        { method: "POST", path: "/hello", handler: "HelloHandler", action: "post" },
      ]);
    });
  });

  describe("checked at configure time", () => {
    it("a route naming an action the handler lacks throws ConfigError naming it", () => {
      expect(configureWith((r) => r.get("/posts", PostsHandler, "missing")))
        .to.throw(ConfigError, /missing/)
        .with.property("code", "E_CONFIG");
      expect(configureWith((r) => r.get("/posts", PostsHandler, "missing"))).to.throw(/PostsHandler/);
      expect(configureWith((r) => r.post("/hello", HelloHandler, "create"))).to.throw(ConfigError, /create/);
    });

    it("a method and path defined twice throw ConfigError naming them", () => {
      expect(
        configureWith((r) => {
          r.get("/posts", PostsHandler, "index");
          r.get("/posts", PostsHandler, "show");
        }),
      )
        .to.throw(ConfigError, /GET \/posts is defined twice/)
        .with.property("code", "E_CONFIG");
      expect(
        configureWith((r) => {
          r.route("/hello", HelloHandler);
          r.post("/hello", PostsHandler, "create");
        }),
      ).to.throw(ConfigError, /POST \/hello is defined twice/);
      expect(
        configureWith((r) => {
          r.get("/posts", PostsHandler, "index");
          r.post("/posts", PostsHandler, "create");
        }),
      ).to.not.throw();
    });

    it("a path the router cannot take throws ConfigError naming the route", () => {
      expect(configureWith((r) => r.get("posts", PostsHandler, "index"))).to.throw(ConfigError, /GET posts/);
    });

    it("r.get without an action on a handler without get() throws ConfigError", () => {
      expect(configureWith((r) => r.get("/x", PostOnlyHandler))).to.throw(ConfigError, /"get"/);
    });

    for (const helper of [
      "json",
      "respond",
      "html",
      "redirect",
      "head",
      "params",
      "session",
      "flash",
      "query",
      "request",
      "ctx",
      "constructor",
      "toString",
      "hasOwnProperty",
      "__proto__",
    ]) {
      it(`naming "${helper}" (not an action of the subclass) throws ConfigError`, () => {
        expect(configureWith((r) => r.get("/x", PostsHandler, helper))).to.throw(ConfigError);
      });
    }

    it("an action named like a Handler helper is refused even when the subclass overrides it", () => {
      class Enveloped extends Handler {
        override json(body: unknown) {
          super.json({ data: body });
        }
        async index() {
          this.json("x");
        }
      }
      expect(configureWith((r) => r.get("/x", Enveloped, "index"))).to.not.throw();
      expect(configureWith((r) => r.get("/x", Enveloped, "json"))).to.throw(ConfigError, /no action "json"/);
    });

    it("a Marten-style handler with none of get/post/put/patch/delete throws ConfigError", () => {
      class Empty extends Handler {
        async index() {
          this.json({});
        }
      }
      expect(configureWith((r) => r.route("/empty", Empty))).to.throw(ConfigError, /Empty/);
    });

    it("a class that is not a Handler subclass is refused", () => {
      class NotAHandler {
        async index() {}
        async get() {}
      }
      const fake = NotAHandler as unknown as HandlerClass;
      expect(configureWith((r) => r.get("/x", fake, "index")))
        .to.throw(ConfigError, /Handler subclass/)
        .with.property("code", "E_CONFIG");
      expect(configureWith((r) => r.route("/x", fake))).to.throw(ConfigError);
      expect(configureWith((r) => r.get("/x", Handler as HandlerClass, "json"))).to.throw(ConfigError);
      const fn = (() => {}) as unknown as HandlerClass;
      expect(configureWith((r) => r.get("/x", fn, "index"))).to.throw(ConfigError);
    });
  });

  describe("response helpers", () => {
    let app: Application;
    let http: ReturnType<typeof request>;

    before(() => {
      app = testApp({ routes: helperRoutes });
      http = request(app.callback());
    });

    it("json() sends JSON with status 200", async () => {
      const res = await http.get("/jsonDefault").expect(200);
      expect(res.headers["content-type"]).to.equal("application/json; charset=utf-8");
      expect(res.text).to.equal('{"ok":true,"list":[1,"two"]}');
    });

    it("json() takes a status", async () => {
      const res = await http.get("/json201").expect(201);
      expect(res.headers["content-type"]).to.equal("application/json; charset=utf-8");
      expect(res.body).to.deep.equal({ created: true });
    });

    it("json(null) sends the JSON literal null", async () => {
      const res = await http.get("/jsonNull").expect(200);
      expect(res.headers["content-type"]).to.equal("application/json; charset=utf-8");
      expect(res.text).to.equal("null");
    });

    it("respond() sends text/plain", async () => {
      const res = await http.get("/text").expect(200, "plain text");
      expect(res.headers["content-type"]).to.equal("text/plain; charset=utf-8");
    });

    it("respond() takes a status and a content type", async () => {
      const res = await http.get("/csv").expect(202);
      expect(res.headers["content-type"]).to.equal("text/csv; charset=utf-8");
      expect(res.text).to.equal("a,b\n1,2\n");
    });

    it("respond() takes a short type name, as Koa's ctx.type does", async () => {
      const res = await http.get("/shortType").expect(200);
      expect(res.headers["content-type"]).to.equal("text/html; charset=utf-8");
      expect(res.text).to.equal("<p>short</p>");
    });

    it("html() sends text/html", async () => {
      const res = await http.get("/page").expect(200, "<h1>Hi</h1>");
      expect(res.headers["content-type"]).to.equal("text/html; charset=utf-8");
    });

    it("html() takes a status", async () => {
      const res = await http.get("/missingPage").expect(404, "<h1>Not here</h1>");
      expect(res.headers["content-type"]).to.equal("text/html; charset=utf-8");
    });

    it("redirect() answers 302 with Location", async () => {
      const res = await http.get("/go").expect(302);
      expect(res.headers.location).to.equal("/elsewhere");
    });

    it("redirect() takes a status (303 after a POST)", async () => {
      const res = await http.get("/goSeeOther").expect(303);
      expect(res.headers.location).to.equal("/elsewhere");
    });

    it("head(204) answers 204 with an empty body", async () => {
      const res = await http.get("/noContent").expect(204);
      expect(res.text).to.equal("");
      expect(res.headers["content-type"]).to.equal(undefined);
    });

    it("head(200) answers 200 with an empty body", async () => {
      const res = await http.get("/ok").expect(200);
      expect(res.text).to.equal("");
      expect(res.headers["content-length"]).to.equal("0");
      expect(res.headers["content-type"]).to.equal(undefined);
    });

    it("head(201) answers 201 with an empty body", async () => {
      const res = await http.get("/created").expect(201);
      expect(res.text).to.equal("");
      expect(res.headers["content-length"]).to.equal("0");
    });
  });

  describe("this.json(this.session)", () => {
    it("sends exactly the user's keys: no flash, no Stoat data", async () => {
      const agent = request.agent(testApp({ routes: helperRoutes }).callback());
      await agent.get("/fillSession").expect(200);
      const res = await agent.get("/showSession").expect(200);
      expect(res.headers["content-type"]).to.equal("application/json; charset=utf-8");
      expect(res.text).to.equal('{"user":"ada","__proto__":"p"}');
    });

    it("sends {} for an empty session", async () => {
      const res = await request(testApp({ routes: helperRoutes }).callback())
        .get("/showSession")
        .expect(200);
      expect(res.text).to.equal("{}");
    });

    it("marks the response as varying by Cookie, since its body comes from the session", async () => {
      const agent = request.agent(testApp({ routes: helperRoutes }).callback());
      await agent.get("/fillSession").expect(200);
      const res = await agent.get("/showSession").expect(200);
      expect(res.headers.vary).to.equal("Cookie");
    });
  });

  describe("params, query, request, ctx", () => {
    let http: ReturnType<typeof request>;

    before(() => {
      http = request(testApp({ routes: helperRoutes }).callback());
    });

    it("merges query and path params (path wins), prototype-free", async () => {
      const res = await http.get("/params/7?id=from-query&page=2").expect(200);
      expect(res.body).to.deep.equal({
        params: { id: "7", page: "2" },
        nullPrototype: true,
        ownKeys: ["id", "page"],
        sameObject: true,
      });
    });

    it("merges a form body too: body over query, path over both", async () => {
      const res = await http
        .post("/params/7?id=from-query&page=2&sort=asc")
        .type("form")
        .send("id=from-body&title=Hello&page=3")
        .expect(200);
      expect(res.body.params).to.deep.equal({ id: "7", page: "3", sort: "asc", title: "Hello" });
      expect(res.body.nullPrototype).to.equal(true);
    });

    it("merges a JSON body's string values", async () => {
      const res = await http.post("/params/7").send({ title: "Hello", id: "from-body" }).expect(200);
      expect(res.body.params).to.deep.equal({ id: "7", title: "Hello" });
    });

    it("keeps a __proto__ query key as a plain key and pollutes nothing", async () => {
      const res = await http.get("/pollution?__proto__=polluted&constructor=c&polluted=no").expect(200);
      expect(res.body).to.deep.equal({
        nullPrototype: true,
        protoValue: "polluted",
        constructorValue: "c",
        polluted: null,
        objectPrototypeKeys: false,
      });
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it("a __proto__ form key pollutes nothing", async () => {
      const res = await http
        .post("/pollution")
        .type("form")
        .send("__proto__=polluted&__proto__[polluted]=yes&constructor[prototype][polluted]=yes&polluted=no")
        .expect(200);
      expect(res.body.nullPrototype).to.equal(true);
      expect(res.body.polluted).to.equal(null);
      expect(res.body.objectPrototypeKeys).to.equal(false);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it("exposes this.query, this.request and this.ctx", async () => {
      const res = await http.get("/context?a=1&b=two").set("X-Probe", "probe-value").expect(200);
      expect(res.body).to.deep.equal({
        query: { a: "1", b: "two" },
        sameRequest: true,
        sameQuery: true,
        method: "GET",
        path: "/context",
        header: "probe-value",
      });
    });
  });

  describe('with middleware ["bodyParser"] only (no session)', () => {
    for (const path of ["/useSession", "/useCtxSession"]) {
      it(`${path === "/useSession" ? "this.session" : "ctx.session"} answers 500 and the app emits SessionNotEnabledError`, async () => {
        const app = testApp({ routes: helperRoutes, middleware: ["bodyParser"], env: "production" });
        const errors: unknown[] = [];
        app.koa.on("error", (err) => errors.push(err));
        const res = await request(app.callback()).get(path).expect(500);
        expect(res.text).to.equal("Internal Server Error");
        expect(res.headers["set-cookie"]).to.equal(undefined);
        expect(errors).to.have.length(1);
        expect(errors[0]).to.be.instanceOf(SessionNotEnabledError);
        expect((errors[0] as SessionNotEnabledError).code).to.equal("E_SESSION_NOT_ENABLED");
        expect((errors[0] as Error).message).to.include('"session"');
      });
    }

    it("handlers that do not use the session still work", async () => {
      const app = testApp({ routes: helperRoutes, middleware: ["bodyParser"] });
      const errors: unknown[] = [];
      app.koa.on("error", (err) => errors.push(err));
      const res = await request(app.callback()).post("/params/3").type("form").send("a=b").expect(200);
      expect(res.body.params).to.deep.equal({ id: "3", a: "b" });
      expect(errors).to.deep.equal([]);
    });
  });
});
