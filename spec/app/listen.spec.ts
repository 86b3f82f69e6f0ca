import http from "node:http";
import { expect } from "chai";
import { type Application, Handler } from "stoat";
import { HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from "../../src/app/application.js";
import { testApp } from "../support/app.js";
import { Gate } from "../support/gate.js";

// app.listen() (and so `stoat server`) gives Node's server timeouts fit for the open internet.

describe("app.listen()", () => {
  let app: Application;
  afterEach(() => app?.close());

  it("sets the request, headers and keep-alive timeouts", async () => {
    app = testApp();
    const server = await app.listen(0, "127.0.0.1");
    expect(server.requestTimeout).to.equal(REQUEST_TIMEOUT_MS);
    expect(server.headersTimeout).to.equal(HEADERS_TIMEOUT_MS);
    expect(server.keepAliveTimeout).to.equal(KEEP_ALIVE_TIMEOUT_MS);
  });

  it("uses values tighter than Node's defaults for slow clients, and outlasting a proxy's idle timeout", () => {
    expect(REQUEST_TIMEOUT_MS).to.equal(60_000); // Node: 300 s
    expect(HEADERS_TIMEOUT_MS).to.equal(20_000); // Node: 60 s
    expect(HEADERS_TIMEOUT_MS).to.be.below(REQUEST_TIMEOUT_MS); // Node requires headers <= request
    expect(KEEP_ALIVE_TIMEOUT_MS).to.be.above(60_000); // common proxies close idle connections at 60 s
  });

  it("close() ends a keep-alive connection whose request was in flight, without waiting out the keep-alive timeout", async () => {
    const gate = new Gate();
    class Slow extends Handler {
      async wait() {
        await gate.enter();
        this.respond("done");
      }
    }
    app = testApp({ routes: (r) => r.get("/wait", Slow, "wait") });
    await app.listen(0, "127.0.0.1");
    const agent = new http.Agent({ keepAlive: true });
    try {
      const answer = new Promise<string>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port: app.port, path: "/wait", agent }, (res) => {
            let body = "";
            res.on("data", (chunk) => {
              body += chunk;
            });
            res.on("end", () => resolve(body));
          })
          .on("error", reject);
      });
      await gate.started();
      const closed = app.close();
      gate.release();
      expect(await answer).to.equal("done");
      // Resolves once the connection, idle after its answer, is closed: not 65 s later.
      await closed;
      expect(app.port).to.equal(undefined);
    } finally {
      agent.destroy();
    }
  });
});
