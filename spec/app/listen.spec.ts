import { expect } from "chai";
import type { Application } from "stoat";
import { HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from "../../src/app/application.js";
import { testApp } from "../support/app.js";

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
});
