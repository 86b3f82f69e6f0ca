import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { expect } from "chai";
import { load } from "../lib/load.js";

// load() keeps each connection's cookies as a browser would, over real HTTP: every request carries the
// session cookie the previous answer on its connection set, and a cookie the answers never touch stays.
// The jar is written into autocannon's built request directly (bench/lib/load.ts, cookieResender), so this
// is what notices if autocannon's internals stop matching: the requests would go on with stale cookies.

describe("bench load: the cookie jar", function () {
  this.timeout(30_000);
  let server: Server;
  let base: string;
  /** What the server saw: requests, those with the cookie it set last on that connection, and the rest. */
  const seen = { requests: 0, current: 0, stale: [] as string[], otherKept: 0 };
  /** The value each connection was last sent, by socket. */
  const lastSet = new WeakMap<Socket, string>();
  let issued = 0;

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const cookie = req.headers.cookie ?? "";
      const sid = /(?:^|; )sid=([^;]*)/.exec(cookie)?.[1];
      const expected = lastSet.get(req.socket);
      seen.requests++;
      if (expected === undefined || sid === expected) seen.current++;
      else seen.stale.push(`${sid} (expected ${expected})`);
      if (/(?:^|; )other=keep(?:;|$)/.test(cookie)) seen.otherKept++;
      // Values of changing length: the splice must not depend on the old value's size.
      const next = `v${issued++}-${"x".repeat(issued % 7)}`;
      lastSet.set(req.socket, next);
      res.setHeader("Set-Cookie", [`sid=${next}; Path=/; HttpOnly`]);
      res.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("sends each connection's latest Set-Cookie on its next request and keeps the other cookies", async () => {
    const jars = ["sid=first-a; other=keep", "other=keep; sid=first-b"];
    const result = await load(base, 1, 2, jars);
    expect(result.non2xx + result.errors).to.equal(0);
    // Every answer replaced the cookie, so a stale one would show up within a couple of requests.
    expect(seen.requests).to.be.greaterThan(50);
    expect(seen.stale).to.deep.equal([]);
    expect(seen.current).to.equal(seen.requests);
    expect(seen.otherKept).to.equal(seen.requests);
    // The jars the caller handed in hold what was set last, for the next measurement to go on from.
    for (const jar of jars) expect(jar).to.match(/^(sid=v\d+-x*; other=keep|other=keep; sid=v\d+-x*)$/);
  });
});
