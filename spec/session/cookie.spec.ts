import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import Koa from "koa";
import { SessionCookie } from "../../src/session/cookie.js";
import { resolveSessionOptions } from "../../src/session/options.js";

// SessionCookie.read parses the Cookie header itself (no Cookies object per request); Koa's own
// `ctx.cookies.get` is the oracle it must agree with, header for header, through a real server.

const SECRET = "s".repeat(40);

async function serveBoth(key: string): Promise<Server> {
  const cookie = new SessionCookie(resolveSessionOptions({ key }, {}, [SECRET]), false);
  const koa = new Koa();
  koa.use((ctx) => {
    ctx.body = { ours: cookie.read(ctx) ?? null, koa: ctx.cookies.get(key, { signed: false }) ?? null };
  });
  const server = createServer(koa.callback()).listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

function readWith(
  server: Server,
  header: string | undefined,
): Promise<{ ours: string | null; koa: string | null }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request(
      { port, host: "127.0.0.1", path: "/", headers: header === undefined ? {} : { cookie: header } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve(JSON.parse(body)));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("SessionCookie.read", () => {
  const headers = [
    undefined,
    "",
    "_stoat_session=abc",
    "other=1; _stoat_session=abc",
    "other=1;_stoat_session=abc;x=2",
    "x_stoat_session=nope; _stoat_session=yes",
    "_stoat_session=first; _stoat_session=second",
    '_stoat_session="quoted"',
    '_stoat_session="',
    "_stoat_session=",
    "  _stoat_session=leading-spaces",
    "_stoat_session",
    "_STOAT_SESSION=case",
    "a=b; c=d",
    "_stoat_session=Fe26.2*1*salt*iv*ct*123*salt*mac~2; theme=dark",
  ];

  it("agrees with Koa's ctx.cookies.get on every header shape", async () => {
    const server = await serveBoth("_stoat_session");
    try {
      for (const header of headers) {
        const { ours, koa } = await readWith(server, header);
        expect(ours, `Cookie: ${header}`).to.equal(koa);
      }
      // And the shapes that matter say what they should (the oracle is not trivially empty).
      expect((await readWith(server, "other=1; _stoat_session=abc")).ours).to.equal("abc");
      expect((await readWith(server, '_stoat_session="quoted"')).ours).to.equal("quoted");
      expect((await readWith(server, "x_stoat_session=nope; _stoat_session=yes")).ours).to.equal("yes");
      expect((await readWith(server, "_stoat_session")).ours).to.equal(null);
    } finally {
      server.close();
    }
  });

  it("takes a cookie name with pattern characters literally", async () => {
    const server = await serveBoth("s.id+1");
    try {
      for (const header of ["s.id+1=v", "sxid+1=v", "s.id1=v; s.id+1=w", "s.idd+1=x"]) {
        const { ours, koa } = await readWith(server, header);
        expect(ours, `Cookie: ${header}`).to.equal(koa);
      }
      expect((await readWith(server, "sxid+1=v")).ours).to.equal(null);
      expect((await readWith(server, "s.id1=v; s.id+1=w")).ours).to.equal("w");
    } finally {
      server.close();
    }
  });
});
