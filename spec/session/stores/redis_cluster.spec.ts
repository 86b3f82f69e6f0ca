import { expect } from "chai";
import { SessionStoreUnavailableError } from "../../../src/session/errors.js";
import { newSessionId, privateId } from "../../../src/session/ids.js";
import { openBackend } from "../../../src/session/stores/adapters/index.js";
import type { Backend } from "../../../src/session/stores/backend.js";
import { clusterPorts, type RedisCluster, startRedisCluster } from "../../support/redis_cluster.js";
import { useBinary } from "../../support/services.js";

// The redis store on a Redis Cluster of three masters, below the HTTP layer (the shared store contract runs
// on it from store_contract.spec.ts): sessions spread over the masters, and cycleKey, whose move cannot be
// one script there (two ids hash to different slots), so it is a compare-and-delete of the old key followed
// by a write of the new one.

const namespace = `cluster-${Date.now().toString(36)}`;
let cluster: RedisCluster;

describe("redis store on a Redis Cluster", function () {
  this.timeout(60_000);
  const opened: Backend[] = [];
  const open = async (rootNodes: readonly string[] = cluster.urls) => {
    const backend = await openBackend("redis", {
      cluster: { rootNodes },
      namespace,
      timeoutMs: 10_000, // generous: a loaded machine is no failure here (no timing is asserted)
      ttlMs: 60_000,
    });
    opened.push(backend);
    return backend;
  };

  before(async function () {
    useBinary(this, "redis-server");
    useBinary(this, "redis-cli");
    cluster = await startRedisCluster();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((backend) => backend.close()));
  });
  after(async () => {
    await cluster?.stop();
  });

  it("spreads sessions over the masters, and reads them back through any root node", async () => {
    const backend = await open();
    const keys = Array.from({ length: 30 }, () => privateId(newSessionId()));
    for (const key of keys) await backend.set(key, `v-${key}`, 60_000);
    const counts = await Promise.all(
      cluster.ports.map(async (port) => Number(await cluster.cli(port, "DBSIZE"))),
    );
    expect(
      counts.filter((n) => n > 0),
      `keys per master: ${counts}`,
    ).to.have.length(3);
    for (const key of keys) expect(await backend.get(key)).to.equal(`v-${key}`);
  });

  it("moves a record (cycleKey) only while the old key holds what was read", async () => {
    const backend = await open();
    const [from, to, other] = [0, 1, 2].map(() => privateId(newSessionId())) as [string, string, string];
    await backend.set(from, "v1", 60_000);
    const read = await backend.getVersioned!(from);
    expect(await backend.compareAndMove!(from, "not-what-was-read", to, "v2", 60_000)).to.equal(false);
    expect(await backend.get(from), "a failed move changes nothing").to.equal("v1");
    expect(await backend.get(to)).to.equal(undefined);
    expect(await backend.compareAndMove!(from, read!.version, to, "v2", 60_000)).to.equal(true);
    expect(await backend.get(from)).to.equal(undefined);
    expect(await backend.get(to)).to.equal("v2");
    expect(await backend.compareAndMove!(from, read!.version, other, "v3", 60_000), "gone").to.equal(false);
    expect(await backend.get(other), "a destroyed record is not brought back").to.equal(undefined);
  });

  it("of many parallel moves of one record, exactly one wins", async () => {
    const [first, second] = [await open(), await open()];
    const from = privateId(newSessionId());
    await first.set(from, "v1", 60_000);
    const { version } = (await first.getVersioned!(from))!;
    const targets = Array.from({ length: 10 }, () => privateId(newSessionId()));
    const results = await Promise.all(
      targets.map((to, i) => (i % 2 ? second : first).compareAndMove!(from, version, to, `v-${i}`, 60_000)),
    );
    expect(results.filter(Boolean), "one move wins").to.have.length(1);
    const held = await Promise.all(targets.map((to) => first.get(to)));
    expect(
      held.filter((v) => v !== undefined),
      "exactly one new key holds the record",
    ).to.have.length(1);
    expect(await first.get(from)).to.equal(undefined);
  });

  it("boots while the cluster is down, fails fast meanwhile, and works once it is up", async () => {
    const ports = await clusterPorts(3);
    const backend = await open(ports.map((port) => `redis://127.0.0.1:${port}`));
    const error = await backend.get("k").then(
      () => expect.fail("a read with no cluster succeeded"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SessionStoreUnavailableError);
    expect((error as Error).message).to.match(/root nodes are unavailable/);
    const late = await startRedisCluster(ports);
    try {
      await backend.set("k", "v", 60_000); // the same backend: discovery is retried by the next call
      expect(await backend.get("k")).to.equal("v");
    } finally {
      await backend.close();
      await late.stop();
    }
  });
});
