import { createConnection } from "node:net";
import { expect } from "chai";
import { openBackend } from "../../../src/session/stores/adapters/index.js";
import { PooledBackend } from "../../../src/session/stores/pooled_backend.js";
import { serviceAddress, serviceUrl, useService } from "../../support/services.js";

// poolSize: memjs holds one socket per server, so the memcache store opens poolSize clients and spreads
// calls over them.

describe("PooledBackend", () => {
  it("spreads calls round robin over its members", async () => {
    const members = await Promise.all(
      [1, 2, 3].map(() => openBackend("memory", { timeoutMs: 1000, ttlMs: 60_000 })),
    );
    const pool = new PooledBackend(members);
    for (const key of ["a", "b", "c", "d"]) await pool.set(key, `v-${key}`, 60_000);
    const holders = await Promise.all(
      ["a", "b", "c", "d"].map(async (key) => {
        const found = await Promise.all(members.map((m) => m.get(key)));
        return found.map((v, i) => (v === undefined ? -1 : i)).filter((i) => i >= 0);
      }),
    );
    expect(holders).to.deep.equal([[0], [1], [2], [0]]);
    await pool.close();
  });

  it("refuses an empty pool", () => {
    expect(() => new PooledBackend([])).to.throw(RangeError);
  });
});

/** memcached's own count of open client connections. */
function memcachedConnections(): Promise<number> {
  const { host, port } = serviceAddress("memcache");
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port }, () => socket.write("stats\r\n"));
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk;
      if (text.includes("END\r\n")) {
        socket.end();
        resolve(Number(/STAT curr_connections (\d+)/.exec(text)?.[1]));
      }
    });
    socket.on("error", reject);
  });
}

describe("the memcache store's poolSize", function () {
  this.timeout(10000);
  before(async function () {
    await useService(this, "memcache");
  });

  it("opens poolSize connections to memcached", async () => {
    const before = await memcachedConnections();
    const backend = await openBackend("memcache", {
      memcacheServer: serviceUrl("memcache"),
      poolSize: 4,
      namespace: `pool-${Date.now().toString(36)}`,
      timeoutMs: 2000,
      ttlMs: 60_000,
    });
    try {
      for (let i = 0; i < 8; i++) await backend.set(`k${i}`, `v${i}`, 60_000);
      for (let i = 0; i < 8; i++) expect(await backend.get(`k${i}`)).to.equal(`v${i}`);
      // Other specs may hold connections too, so count from this spec's own baseline: at least its 4.
      expect((await memcachedConnections()) - before).to.be.at.least(4);
    } finally {
      await backend.close();
    }
  });
});
