import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { expect } from "chai";
import { hotState } from "../lib/hot.js";
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

describe("bench load: a hot session", function () {
  this.timeout(30_000);
  let server: Server;
  let base: string;
  /** Per socket: its connection, the last number sent, the last answered 2xx; and what went wrong. */
  const sockets = new WeakMap<Socket, { c: string; s: number; acked: number }>();
  const problems: string[] = [];
  let requests = 0;
  let conflicts = 0;

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      requests++;
      const url = new URL(req.url ?? "/", "http://x");
      const [c, s, e] = ["c", "s", "e"].map((name) => url.searchParams.get(name));
      if (req.headers.cookie !== "sid=shared") problems.push(`cookie ${req.headers.cookie}`);
      const seen = sockets.get(req.socket);
      if (c === null || s === null || e === null) problems.push(`path ${req.url}`);
      else if (seen && (seen.c !== c || Number(s) !== seen.s + 1 || Number(e) !== seen.acked))
        problems.push(`${req.url} after ${JSON.stringify(seen)}`);
      // Every seventh request of a connection is refused: not acknowledged, so not what the next one expects.
      const refused = Number(s) % 7 === 3;
      if (refused) conflicts++;
      sockets.set(req.socket, { c: c!, s: Number(s), acked: refused ? (seen?.acked ?? -1) : Number(s) });
      res.statusCode = refused ? 409 : 200;
      res.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("gives each request its connection, its own number and the last acknowledged one, on the shared cookie", async () => {
    const hot = hotState(3);
    const result = await load(base, 1, 3, ["sid=shared", "sid=shared", "sid=shared"], undefined, hot);
    expect(requests).to.be.greaterThan(50);
    expect(problems).to.deep.equal([]);
    // A request still in flight when the measurement stops is answered to nobody: at most one per connection.
    expect(result.non2xx).to.be.within(conflicts - 3, conflicts);
    expect(result.statuses).to.deep.equal({ "409": result.non2xx });
    expect(result.acked).to.equal(result.requests - result.non2xx);
    // What the next measurement's requests will expect: each connection's last 2xx number.
    for (const [c, next] of hot.next.entries()) {
      expect(next, `connection ${c}`).to.be.greaterThan(10);
      const last = next - 1;
      const acked = last % 7 === 3 ? last - 1 : last;
      // The last number, or one before it when that request was cut off in flight, or two before when
      // autocannon also began a request as the measurement stopped (its "request" event, never written).
      expect(
        [acked, acked - 1, acked - 2],
        `connection ${c}: the last, or one cut off in flight before it`,
      ).to.include(hot.acked[c]);
    }
  });
});
