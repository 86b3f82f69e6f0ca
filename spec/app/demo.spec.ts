import { expect } from "chai";
import type { Application } from "stoat";
import request from "supertest";
import { SECRET } from "../support/app.js";

// The bundled demo app (config/application.ts), as `npm start` serves it.

describe("the demo app", () => {
  let app: Application;
  let previous: string | undefined;

  before(async () => {
    previous = process.env.SECRET_KEY_BASE;
    process.env.SECRET_KEY_BASE = SECRET; // so importing it writes no development secret
    app = (await import("../../config/application.js")).default;
  });
  after(() => {
    if (previous === undefined) delete process.env.SECRET_KEY_BASE;
    else process.env.SECRET_KEY_BASE = previous;
  });

  const text = (res: request.Response, id: string) => new RegExp(`id="${id}">([^<]*)<`).exec(res.text)?.[1];
  /** The CSRF token of the page's form. */
  const token = (res: request.Response) => /name="_csrf" value="([^"]+)"/.exec(res.text)?.[1] ?? "";

  it("counts visits across requests", async () => {
    const agent = request.agent(app.callback());
    expect(text(await agent.get("/"), "visits")).to.equal("1");
    expect(text(await agent.get("/"), "visits")).to.equal("2");
    expect(text(await agent.get("/"), "visits")).to.equal("3");
  });

  it("signs in with a new session id, shows the flash once, then the name; signs out to an empty session", async () => {
    const agent = request.agent(app.callback());
    const first = await agent.get("/");
    const before = /_stoat_demo_session=([^;]+)/.exec(String(first.headers["set-cookie"]))?.[1];

    const forged = await agent.post("/sign_in").type("form").send({ name: "Mallory" });
    expect(forged.status, "a sign-in without the form's token").to.equal(403);
    const signIn = await agent
      .post("/sign_in")
      .type("form")
      .send({ name: "Ann <b>", _csrf: token(first) });
    expect(signIn.status).to.equal(303);
    expect(signIn.headers.location).to.equal("/");
    const after = /_stoat_demo_session=([^;]+)/.exec(String(signIn.headers["set-cookie"]))?.[1];
    expect(after).to.be.a("string").and.not.equal(before);

    const page = await agent.get("/");
    expect(text(page, "notice")).to.equal("Signed in as Ann &lt;b&gt;");
    expect(text(page, "name")).to.equal("Ann &lt;b&gt;");
    const again = await agent.get("/");
    expect(text(again, "notice")).to.equal(undefined);
    expect(text(again, "name")).to.equal("Ann &lt;b&gt;");

    expect((await agent.post("/sign_out")).status, "a sign-out without the form's token").to.equal(403);
    const signOut = await agent
      .post("/sign_out")
      .type("form")
      .send({ _csrf: token(again) });
    expect(signOut.status).to.equal(303);
    expect(String(signOut.headers["set-cookie"])).to.match(/^_stoat_demo_session=;/);
    const out = await agent.get("/");
    expect(text(out, "name")).to.equal(undefined);
    expect(text(out, "visits")).to.equal("1");
  });

  it("serves the documented handler examples: /posts writes, /posts/1 shows the session, /hello is Marten-style", async () => {
    const agent = request.agent(app.callback());
    expect((await agent.get("/posts")).body).to.deep.equal({ message: "set some data in the session" });
    const shown = await agent.get("/posts/1");
    expect(Object.keys(shown.body)).to.deep.equal(["current_time"]);
    expect(new Date(shown.body.current_time).toISOString()).to.equal(shown.body.current_time);
    const hello = await agent.get("/hello");
    expect(hello.text).to.equal("Hello World!");
    expect((await agent.get("/posts/1")).body.foo).to.equal("bar");
    const post = await agent.post("/hello");
    expect(post.status).to.equal(405);
    expect(post.headers.allow).to.equal("GET, HEAD, OPTIONS");
  });
});
