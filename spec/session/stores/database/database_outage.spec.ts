import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { expect } from "chai";
import { type Application, Handler, type RoutesDefinition } from "stoat";
import request from "supertest";
import { Clock, cookieValue, setCookieFor, testApp } from "../../../support/app.js";
import { serviceAddress, useService } from "../../../support/services.js";
import { DIALECTS, dropTables, rawDatabase, uniqueTable } from "./dialects.js";

// A database that goes away: the `database` store answers 503 with Retry-After at once (no hang, no crash,
// no cookie change), routes that do not use the session still answer, and when the database is back the
// store recovers without a restart, with the sessions written before. The outage is a TCP proxy of the
// spec's own in front of the real server, closed and reopened on the same port.

class Probe extends Handler {
  async read() {
    this.json(this.session.toJSON());
  }
  async write() {
    this.session.set("user", "ann");
    this.json({});
  }
  async plain() {
    this.respond("no session needed");
  }
}
const routes: RoutesDefinition = (r) => {
  for (const action of ["read", "write", "plain"]) r.get(`/${action}`, Probe, action);
};

/** Forwards 127.0.0.1:port to the database; stop() refuses new connections and cuts the open ones. */
class TcpProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;
  constructor(readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    for (const socket of this.#sockets) socket.destroy();
    server.close();
    await once(server, "close");
  }
}

for (const dialect of DIALECTS.filter((d) => d.service)) {
  describe(`database store outage (${dialect.name}, through a proxy the spec closes and reopens)`, function () {
    this.timeout(30000);
    const table = uniqueTable("down");
    let proxy: TcpProxy;
    let app: Application;

    before(async function () {
      await useService(this, dialect.service!);
      proxy = new TcpProxy(serviceAddress(dialect.service!));
      await proxy.start();
    });
    after(async () => {
      await app?.close();
      if (!proxy) return; // skipped (the service is not there): nothing to clean up
      await proxy.stop();
      const raw = rawDatabase(dialect);
      await dropTables(raw, [table]).finally(() => raw.destroy());
    });

    it("answers 503 at once while down, keeps the cookie, and recovers with the data when it is back", async () => {
      const url = new URL(dialect.url);
      url.hostname = "127.0.0.1";
      url.port = String(proxy.port);
      app = testApp({
        routes,
        clock: new Clock(),
        store: "database",
        options: { url: url.href, table, timeout: 1 },
      });
      const errors: unknown[] = [];
      app.koa.on("error", (error) => errors.push(error));
      await app.sessions.install();
      const http = request(app.callback());
      const id = cookieValue(await http.get("/write"))!;

      await proxy.stop();
      const started = performance.now();
      const down = await http.get("/read").set("Cookie", `_stoat_session=${id}`);
      expect(down.status).to.equal(503);
      expect(down.headers["retry-after"]).to.equal("5");
      expect(setCookieFor(down)).to.equal(undefined);
      expect(performance.now() - started, "fails fast, not after the timeout").to.be.below(900);
      expect((await http.get("/plain")).status).to.equal(200);
      expect((await http.get("/write")).status).to.equal(503);
      expect(errors.length).to.be.at.least(2);

      await proxy.start(); // the same port
      const back = await http.get("/read").set("Cookie", `_stoat_session=${id}`);
      expect(back.status).to.equal(200);
      expect(back.body).to.deep.equal({ user: "ann" });
    });
  });
}
