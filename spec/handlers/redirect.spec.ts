import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { expect } from "chai";
import fc from "fast-check";
import { type Application, Handler, type RoutesDefinition, SessionError, UnsafeRedirectError } from "stoat";
import { testApp } from "../support/app.js";

// redirect() over a real HTTP server: the target arrives as a JSON body (exactly as generated, lone
// surrogates and control characters included), the way a `?return_to=` would reach a handler.

class Redirects extends Handler {
  async go() {
    this.redirect(this.params.to ?? "");
  }
  async seeOther() {
    this.redirect(this.params.to ?? "", { status: 303 });
  }
  async anywhere() {
    this.redirect(this.params.to ?? "", { allowOtherHost: true });
  }
  async caught() {
    try {
      this.redirect(this.params.to ?? "");
      this.json({ refused: false });
    } catch (err) {
      const e = err as UnsafeRedirectError;
      this.json({
        refused: true,
        name: e.name,
        code: e.code,
        status: e.status,
        expose: e.expose,
        unsafe: err instanceof UnsafeRedirectError,
        session: err instanceof SessionError,
      });
    }
  }
}

const routes: RoutesDefinition = (r) => {
  r.post("/go", Redirects, "go");
  r.post("/see-other", Redirects, "seeOther");
  r.post("/anywhere", Redirects, "anywhere");
  r.post("/caught", Redirects, "caught");
};

interface Answer {
  status: number;
  location: string | undefined;
  body: string;
}

/** POSTs `{ to: target }` to `path` on `port`, with extra headers (Host, X-Forwarded-Proto) if given. */
function post(
  port: number,
  path: string,
  target: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const body = JSON.stringify({ to: target });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "Content-Length": Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: text }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A raw HTTP/1.0 request with no Host header (the one way a request can arrive without an origin). */
async function postWithoutHost(port: number, target: string): Promise<string> {
  const body = JSON.stringify({ to: target });
  const socket = net.connect(port, "127.0.0.1");
  socket.setEncoding("utf8");
  let text = "";
  socket.on("data", (chunk: string) => {
    text += chunk;
  });
  const ended = new Promise((resolve) => socket.on("end", resolve));
  socket.end(
    `POST /go HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  await ended;
  return text;
}

function expectRefused(res: Answer, target: string): void {
  expect(res.status, `status for ${JSON.stringify(target)}`).to.equal(400);
  expect(res.location, `Location for ${JSON.stringify(target)}`).to.equal(undefined);
  expect(res.body).to.include("E_UNSAFE_REDIRECT");
}

describe("redirect() keeps users on this origin (over HTTP)", () => {
  let app: Application;
  let port: number;
  let origin: string;
  const go = (target: string, headers?: Record<string, string>) => post(port, "/go", target, headers);

  before(async () => {
    app = testApp({ routes, middleware: ["bodyParser"] });
    const server = await app.listen(0, "127.0.0.1");
    port = (server.address() as AddressInfo).port;
    origin = `http://127.0.0.1:${port}`;
  });
  after(() => app.close());

  describe("targets that stay on this origin", () => {
    const safe: [string, string][] = [
      ["/", "/"],
      ["/elsewhere", "/elsewhere"],
      ["/a/b?c=d&e=f#g", "/a/b?c=d&e=f#g"],
      ["relative/path", "relative/path"],
      ["../up", "../up"],
      ["?page=2", "?page=2"],
      ["#top", "#top"],
      ["/evil.example", "/evil.example"],
      ["/%2F%2Fevil.example", "/%2F%2Fevil.example"], // encoded slashes are a path, not a host
      ["%2F%2Fevil.example", "%2F%2Fevil.example"],
      ["/%5Cevil.example", "/%5Cevil.example"], // an encoded backslash is a path character
      ["/%5C%5Cevil.example", "/%5C%5Cevil.example"],
      ["/login?return_to=https://evil.example", "/login?return_to=https://evil.example"],
      ["/path//double", "/path//double"],
      ["/a b", "/a%20b"],
      ["/caf\u00e9", "/caf%C3%A9"],
      ["\u00a0//evil.example", "%C2%A0//evil.example"], // a no-break space is not whitespace to a URL parser
      ["\uff0f\uff0fevil.example", "%EF%BC%8F%EF%BC%8Fevil.example"], // fullwidth slashes are a path
    ];
    for (const [target, location] of safe) {
      it(`${JSON.stringify(target)} answers 302 with Location ${location}`, async () => {
        const res = await go(target);
        expect(res.status).to.equal(302);
        expect(res.location).to.equal(location);
        expect(new URL(res.location ?? "", `${origin}/go`).origin).to.equal(origin);
      });
    }

    it("an absolute URL on this origin, its scheme in any case, is sent as before", async () => {
      expect((await go(`${origin}/home?x=1`)).location).to.equal(`${origin}/home?x=1`);
      expect((await go(`HTTP://127.0.0.1:${port}/home`)).location).to.equal(`${origin}/home`);
      expect((await go(`http://127.0.0.1:${port}`)).location).to.equal(`${origin}/`);
      // 127.0.0.1 written as one number is the same host to a URL parser, so the same origin
      expect((await go(`http://2130706433:${port}/x`)).location).to.equal(`${origin}/x`);
    });

    it("takes a status (303 after a POST)", async () => {
      const res = await post(port, "/see-other", "/done");
      expect(res.status).to.equal(303);
      expect(res.location).to.equal("/done");
    });
  });

  describe("targets a browser would take elsewhere: 400, no Location", () => {
    const attacks = (): string[] => [
      // protocol-relative, however many slashes
      "//evil.example",
      "//evil.example/path",
      "///evil.example",
      "////evil.example",
      " //evil.example",
      "   //evil.example",
      // backslashes, which browsers read as slashes
      "/\\evil.example",
      "\\\\evil.example",
      "\\/evil.example",
      "/\\/evil.example",
      "\\evil.example",
      "https:\\\\evil.example",
      "/safe\\..\\..\\evil",
      // tabs, newlines and other controls, which browsers drop or which would split the header
      "/\t/evil.example",
      "\t//evil.example",
      "/\n/evil.example",
      "/\r/evil.example",
      "//evil\t.example",
      "\u0000//evil.example",
      "//evil.example\u0000",
      "/\u000b/evil.example",
      "/\u007f",
      "/path\r\nSet-Cookie: stolen=1",
      "/path\nLocation: https://evil.example",
      // schemes: another host, another case, no slashes, not http(s)
      "https://evil.example",
      "http://evil.example/",
      "HTTPS://evil.example",
      "HtTp://evil.example",
      "https:evil.example",
      "http:evil.example",
      "https:/evil.example",
      "HTTPS:evil.example",
      " https://evil.example",
      "javascript:alert(1)",
      "JavaScript:alert(document.domain)",
      " javascript:alert(1)",
      "javascript://%0aalert(1)",
      "data:text/html,<script>alert(1)</script>",
      "vbscript:msgbox(1)",
      "file:///etc/passwd",
      "ftp://evil.example/",
      "mailto:someone@evil.example",
      "blob:https://evil.example/uuid",
      "x:y",
      // userinfo tricks: the host is what follows the "@"
      "http://localhost@evil.example",
      `http://127.0.0.1:${port}@evil.example`,
      `http://127.0.0.1:${port}@evil.example/path`,
      "http://evil.example#@127.0.0.1",
      "http://evil.example?@127.0.0.1",
      // this host name on another port or scheme, or another name for it: another origin
      `http://127.0.0.1:${port + 1}/`,
      "http://127.0.0.1/",
      `https://127.0.0.1:${port}/`,
      `http://localhost:${port}/`,
      `http://[::1]:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      "http:",
      "http://",
    ];

    it("refuses every one of them", async () => {
      for (const target of attacks()) expectRefused(await go(target), target);
    });

    it("refuses them with a 303 asked for too", async () => {
      for (const target of ["//evil.example", "/\\evil.example", "javascript:alert(1)"]) {
        expectRefused(await post(port, "/see-other", target), target);
      }
    });

    it("throws UnsafeRedirectError, a SessionError with code E_UNSAFE_REDIRECT, status 400, exposed", async () => {
      const res = await post(port, "/caught", "//evil.example");
      expect(JSON.parse(res.body)).to.deep.equal({
        refused: true,
        name: "UnsafeRedirectError",
        code: "E_UNSAFE_REDIRECT",
        status: 400,
        expose: true,
        unsafe: true,
        session: true,
      });
      expect(JSON.parse((await post(port, "/caught", "/fine")).body)).to.deep.equal({ refused: false });
    });

    it("answers 400 with the code in production too", async () => {
      const production = testApp({ routes, middleware: ["bodyParser"], env: "production" });
      const server = await production.listen(0, "127.0.0.1");
      try {
        const other = (server.address() as AddressInfo).port;
        expectRefused(await post(other, "/go", "//evil.example"), "//evil.example");
        expect((await post(other, "/go", "/home")).location).to.equal("/home");
      } finally {
        await production.close();
      }
    });
  });

  describe("the origin is the request's own", () => {
    it("is never taken from the Origin header, which another site sets", async () => {
      for (const evil of ["http://evil.example", "https://evil.example"]) {
        expectRefused(await go(`${evil}/x`, { Origin: evil }), `${evil}/x`);
      }
      expect((await go("/x", { Origin: "http://evil.example" })).location).to.equal("/x");
    });

    it("under another Host name, that name is this origin and the address is not", async () => {
      const headers = { Host: `localhost:${port}` };
      expect((await go(`http://localhost:${port}/x`, headers)).location).to.equal(
        `http://localhost:${port}/x`,
      );
      expectRefused(await go(`${origin}/x`, headers), `${origin}/x`);
      expectRefused(await go(`http://localhost:${port + 1}/x`, headers), "another port");
    });

    it("an IPv6 host matches however it is written, never on another port", async () => {
      const headers = { Host: `[::1]:${port}` };
      expect((await go(`http://[::1]:${port}/x`, headers)).location).to.equal(`http://[::1]:${port}/x`);
      const longForm = `http://[0:0:0:0:0:0:0:1]:${port}/x`;
      expect((await go(longForm, headers)).status).to.equal(302);
      expectRefused(await go(`http://[::1]:${port + 1}/x`, headers), "another port");
      expectRefused(await go(`http://[::2]:${port}/x`, headers), "another address");
    });

    it("a default port in Host is the same origin as none", async () => {
      const headers = { Host: "example.test:80" };
      expect((await go("http://example.test/x", headers)).status).to.equal(302);
      expect((await go("http://EXAMPLE.test:80/x", headers)).status).to.equal(302);
      expectRefused(await go("http://example.test:8080/x", headers), "another port");
    });

    it("behind a proxy, X-Forwarded-Proto https makes http:// another origin, and schemes without slashes stay refused", async () => {
      const proxied = testApp({ routes, middleware: ["bodyParser"], proxy: true });
      const server = await proxied.listen(0, "127.0.0.1");
      try {
        const other = (server.address() as AddressInfo).port;
        const headers = { Host: "app.example", "X-Forwarded-Proto": "https" };
        const res = await post(other, "/go", "https://app.example/x", headers);
        expect(res.status).to.equal(302);
        expect(res.location).to.equal("https://app.example/x");
        for (const target of [
          "http://app.example/x",
          "https:evil.example",
          "http:evil.example",
          "//evil.example",
        ]) {
          expectRefused(await post(other, "/go", target, headers), target);
        }
      } finally {
        await proxied.close();
      }
    });

    it("with no Host at all (HTTP/1.0), relative targets work and absolute ones are refused", async () => {
      const relative = await postWithoutHost(port, "/home");
      expect(relative).to.match(/^HTTP\/1\.[01] 302/);
      expect(relative).to.match(/\r\nLocation: \/home\r\n/i);
      const absolute = await postWithoutHost(port, `${origin}/home`);
      expect(absolute).to.match(/^HTTP\/1\.[01] 400/);
      expect(absolute).not.to.match(/\r\nLocation:/i);
    });
  });

  describe("allowOtherHost: true", () => {
    it("lets another host, a protocol-relative target and another scheme through", async () => {
      const cases: [string, string][] = [
        ["https://evil.example/x", "https://evil.example/x"],
        ["//partner.example/x", "//partner.example/x"],
        [`http://127.0.0.1:${port + 1}/`, `http://127.0.0.1:${port + 1}/`],
        ["/elsewhere", "/elsewhere"],
      ];
      for (const [target, location] of cases) {
        const res = await post(port, "/anywhere", target);
        expect(res.status, target).to.equal(302);
        expect(res.location).to.equal(location);
      }
    });

    it("still refuses control characters: CR/LF would split the header", async () => {
      for (const target of [
        "https://partner.example/\r\nSet-Cookie: stolen=1",
        "https://partner.example/\u0000",
      ]) {
        expectRefused(await post(port, "/anywhere", target), target);
      }
    });
  });

  describe("properties (fast-check)", () => {
    /** Pieces that make the dangerous shapes when strung together. */
    const piece = () =>
      fc.constantFrom(
        "/",
        "\\",
        "//",
        ":",
        "@",
        ".",
        "#",
        "?",
        " ",
        "\t",
        "\n",
        "\r",
        "\u0000",
        "\u00a0",
        "\uff0f",
        "%2F",
        "%5C",
        "%",
        "http",
        "https",
        "HTTP",
        "javascript",
        "data",
        "evil.example",
        "localhost",
        "127.0.0.1",
        "[::1]",
        `:${port}`,
        `:${port + 1}`,
        origin,
        "\ud800",
      );
    const target = () =>
      fc.oneof(
        { weight: 4, arbitrary: fc.array(piece(), { maxLength: 8 }).map((parts) => parts.join("")) },
        { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
        { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 24 }) },
        { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
      );

    it("a redirect answers 400, or a Location that resolves to the request's own origin", async () => {
      await fc.assert(
        fc.asyncProperty(target(), async (to) => {
          const res = await go(to);
          if (res.status === 400) {
            expect(res.location).to.equal(undefined);
            return;
          }
          expect(res.status).to.equal(302);
          expect(new URL(res.location ?? "", `${origin}/go`).origin).to.equal(origin);
        }),
        { numRuns: 400 },
      );
    });

    it("a generated path on this origin, relative or absolute, always passes", async () => {
      const path = fc
        .tuple(
          fc.array(
            fc.webSegment().filter((s) => s.length > 0),
            { maxLength: 5 },
          ),
          fc.option(fc.webQueryParameters(), { nil: undefined }),
          fc.option(fc.webFragments(), { nil: undefined }),
          fc.boolean(),
        )
        .map(([segments, query, fragment, absolute]) => {
          const p = `/${segments.join("/")}${query === undefined ? "" : `?${query}`}${fragment === undefined ? "" : `#${fragment}`}`;
          return absolute ? `${origin}${p}` : p;
        });
      await fc.assert(
        fc.asyncProperty(path, async (to) => {
          const res = await go(to);
          expect(res.status, to).to.equal(302);
          const resolved = new URL(res.location ?? "", `${origin}/go`);
          expect(resolved.origin).to.equal(origin);
          expect(resolved.pathname).to.equal(new URL(to, origin).pathname);
        }),
        { numRuns: 300 },
      );
    });
  });
});
