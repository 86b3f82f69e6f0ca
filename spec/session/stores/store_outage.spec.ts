import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { type Application, Handler, type RoutesDefinition } from "stoat";
import request from "supertest";
import { cookieValue, testApp } from "../../support/app.js";
import { freePort } from "../../support/net.js";
import { startRedis } from "../../support/redis_server.js";
import { useBinary } from "../../support/services.js";

// A store that goes down fails loudly and in bounded time: 503 with Retry-After, no cookie change, no
// crash; a route that never uses the session still answers; when the store is back, requests recover
// without a restart and sessions written before the outage are still there.

class Probe extends Handler {
  async read() {
    this.json(this.session);
  }
  async write() {
    this.session.set("user", "ann");
    this.json({ ok: true });
  }
  async flush() {
    this.session.flush();
    this.redirect("/");
  }
  async plain() {
    this.respond("no session needed");
  }
}
const routes: RoutesDefinition = (r) => {
  for (const action of ["read", "write", "flush", "plain"]) r.get(`/${action}`, Probe, action);
};

/** A redis-server of this spec's own, with an append-only file so a restart keeps what was written. */
const startRedisIn = (port: number, dir: string) =>
  startRedis(port, ["--dir", dir, "--appendonly", "yes", "--appendfsync", "always"]);

describe("a store outage (a Redis of the spec's own, killed by pid and restarted)", function () {
  this.timeout(30000);
  let dir: string;
  let port: number;
  let redis: ChildProcess | undefined;
  let app: Application;
  const errors: Error[] = [];

  before(async function () {
    useBinary(this, "redis-server");
    dir = mkdtempSync(join(tmpdir(), "stoat-redis-"));
    port = await freePort();
    redis = await startRedisIn(port, dir);
    app = testApp({ routes, store: "redis", options: { url: `redis://127.0.0.1:${port}`, timeout: 0.5 } });
    app.koa.on("error", (err: Error) => errors.push(err));
    await app.ready();
  });
  after(async () => {
    await app?.close();
    redis?.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true }); // unset when skipped (no redis-server)
  });

  it("answers 503 while down, keeps the cookie, and recovers with the data when Redis is back", async () => {
    const http = request(app.callback());
    const id = cookieValue(await http.get("/write"))!;
    expect(id).to.match(/^[A-Za-z0-9_-]{43}$/);
    const cookie = `_stoat_session=${id}`;

    const pid = redis!.pid!;
    redis!.kill("SIGKILL");
    await once(redis!, "exit");
    expect(() => process.kill(pid, 0)).to.throw();

    const read = await http.get("/read").set("Cookie", cookie);
    expect(read.status).to.equal(503);
    expect(read.headers["retry-after"]).to.match(/^\d+$/);
    expect(read.headers["set-cookie"]).to.equal(undefined);

    const signOut = await http.get("/flush").set("Cookie", cookie);
    expect(signOut.status, "a sign-out that could not reach the store must not look successful").to.equal(
      503,
    );
    expect(signOut.headers["set-cookie"]).to.equal(undefined);
    expect(signOut.headers.location).to.equal(undefined);

    const write = await http.get("/write");
    expect(write.status).to.equal(503);
    expect(write.headers["set-cookie"]).to.equal(undefined);

    const plain = await http.get("/plain").set("Cookie", cookie);
    expect(plain.status, "a route that never uses the session is not affected").to.equal(200);

    expect(errors.length).to.be.greaterThan(0);
    expect(errors.every((e) => (e as { code?: string }).code === "E_SESSION_STORE_UNAVAILABLE")).to.equal(
      true,
    );

    redis = await startRedisIn(port, dir);
    let status = 0;
    let body: unknown;
    for (let i = 0; i < 100 && status !== 200; i++) {
      const res = await http.get("/read").set("Cookie", cookie);
      status = res.status;
      body = res.body;
      if (status !== 200) await sleep(100);
    }
    expect(status, "recovers without a restart").to.equal(200);
    expect(body).to.deep.equal({ user: "ann" });
  });
});
