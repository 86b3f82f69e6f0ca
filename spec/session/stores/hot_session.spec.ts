import { type ChildProcess, execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect } from "chai";
import { newSessionId } from "../../../src/session/ids.js";
import { emptyRecord } from "../../../src/session/record.js";
import { openBackend } from "../../../src/session/stores/adapters/index.js";
import type { Backend } from "../../../src/session/stores/backend.js";
import { ServerStore } from "../../../src/session/stores/server_store.js";
import type { Loaded } from "../../../src/session/stores/store.js";
import { type AppServer, startServer } from "../../scale_out/processes.js";
import { SECRET } from "../../support/app.js";
import { type CountingBackend, countingBackend } from "../../support/counting_backend.js";
import { allKeys, type HotApp, hotApp, N } from "../../support/hot_session.js";
import { freePort } from "../../support/net.js";
import { kill } from "../../support/process.js";
import { startRedis } from "../../support/redis_server.js";
import { useBinary } from "../../support/services.js";

// A hot session: many concurrent requests of one session in one process, each setting its own key, over real
// HTTP and a Redis of the spec's own (so the server's own command counts see no other client). The requests
// that queue up behind a write go out as one guarded write merged onto the record this process just wrote:
// no failed compare-and-set, no re-read, no key lost. Only a write of another process costs a retry. When
// the write goes out is chosen by holding the backend's next call, never by a timer.

const NAMESPACE = "hot";

describe("a hot session: concurrent requests of one session in one process (redis)", function () {
  this.timeout(30_000);
  let redis: ChildProcess | undefined;
  let url: string;
  let backend: CountingBackend;
  let hot: HotApp;

  before(async function () {
    useBinary(this, "redis-server");
    useBinary(this, "redis-cli");
    const port = await freePort();
    redis = await startRedis(port);
    url = `redis://127.0.0.1:${port}`;
    const inner = await openBackend("redis", { url, namespace: NAMESPACE, timeoutMs: 2000, ttlMs: 60_000 });
    backend = countingBackend(inner);
    hot = await hotApp(
      new ServerStore("redis", backend, { secrets: [SECRET], encrypt: true, serializer: "msgpack" }),
    );
  });
  after(async () => {
    await hot?.app.close();
    await kill(redis);
  });

  /** The guarded-write scripts Redis itself ran (EVALSHA, or EVAL where the script was not cached yet). */
  async function scriptsRun(): Promise<number> {
    const port = new URL(url).port;
    const { stdout } = await promisify(execFile)("redis-cli", ["-p", port, "INFO", "commandstats"]);
    let runs = 0;
    for (const [, calls, rejected, failed] of stdout.matchAll(
      /^cmdstat_eval(?:sha)?:calls=(\d+),.*rejected_calls=(\d+),failed_calls=(\d+)/gm,
    ))
      runs += Number(calls) - Number(rejected) - Number(failed);
    return runs;
  }

  it(`writes the ${N - 1} requests that queued behind a write as one guarded write: no miss, every key kept`, async () => {
    const cookie = await hot.seed();
    backend.reset();
    const scriptsBefore = await scriptsRun();
    const answers = await hot.burst(cookie, () => backend.holdNext("compareAndSet"));
    expect(answers.map((a) => a.status)).to.deep.equal(Array(N).fill(200));
    expect(backend.calls.compareAndSet).to.equal(2);
    expect(backend.missed).to.equal(0);
    expect(backend.calls.getVersioned).to.be.at.most(N); // the loads: no re-read after a write
    expect((await scriptsRun()) - scriptsBefore).to.equal(2);
    expect((await hot.get("/read", cookie)).body).to.deep.equal({ seed: "1", ...allKeys() });
  });

  it(`guards each write by what this process wrote last, though all ${N} requests read the version before`, async () => {
    const cookie = await hot.seed();
    backend.reset();
    // Every request loads before any writes, so all read the seed's version; the later writes are guarded by
    // what this process wrote, not by that stale version.
    const allLoaded = hot.reached("load", N);
    const releaseRead = backend.holdNext("getVersioned");
    const answers = hot.putAll(cookie);
    await allLoaded;
    releaseRead();
    expect((await Promise.all(answers)).every((a) => a.status === 200)).to.equal(true);
    expect(backend.missed).to.equal(0);
    expect(backend.calls.compareAndSet).to.be.below(N);
    expect((await hot.get("/read", cookie)).body).to.deep.equal({ seed: "1", ...allKeys() });
  });

  it(`shares one read among the ${N} loads of one session that start while it is in flight`, async () => {
    const cookie = await hot.seed();
    backend.reset();
    const release = backend.holdNext("getVersioned");
    const allLoaded = hot.reached("load", N);
    const answers = Array.from({ length: N }, () => hot.get("/read", cookie));
    await allLoaded;
    release();
    for (const answer of await Promise.all(answers)) {
      expect(answer.status).to.equal(200);
      expect(answer.body).to.deep.equal({ seed: "1" });
    }
    expect(backend.calls.getVersioned).to.equal(1);
  });

  it("with a backend whose compareAndSet answers only true, still keeps every key (one re-read per burst)", async () => {
    const versionless: Backend = {
      ...backend,
      compareAndSet: (...args) => backend.compareAndSet!(...args).then((answer) => answer !== false),
      close: async () => {}, // the spec's backend stays open for the specs after this one
    };
    const plain = await hotApp(
      new ServerStore("redis", versionless, { secrets: [SECRET], encrypt: true, serializer: "msgpack" }),
    );
    try {
      const cookie = await plain.seed();
      backend.reset();
      const answers = await plain.burst(cookie, () => backend.holdNext("compareAndSet"));
      expect(answers.map((a) => a.status)).to.deep.equal(Array(N).fill(200));
      // The group cannot know the version the first write made: it guards by what it read, misses once,
      // reads the record again and merges onto it.
      expect(backend.missed).to.equal(1);
      expect(backend.calls.compareAndSet).to.equal(3);
      expect((await plain.get("/read", cookie)).body).to.deep.equal({ seed: "1", ...allKeys() });
    } finally {
      await plain.app.close();
    }
  });

  it("gives each load sharing a read a record of its own, decoded once", async () => {
    const store = new ServerStore("redis", backend, {
      secrets: [SECRET],
      encrypt: true,
      serializer: "msgpack",
    });
    const id = newSessionId();
    const now = Date.now();
    const record = emptyRecord(now);
    record.data.set("a", "1");
    await store.save(record, now + 60_000, id, now);
    backend.reset();
    const loads = await Promise.all([store.load(id, now), store.load(id, now), store.load(id, now)]);
    expect(backend.calls.getVersioned).to.equal(1);
    const records = loads.map((loaded) => (loaded as Loaded).record);
    records[0]!.data.set("mine", "1");
    expect(new Set(records).size).to.equal(3);
    expect(records.map((r) => Object.fromEntries(r.data))).to.deep.equal([
      { a: "1", mine: "1" },
      { a: "1" },
      { a: "1" },
    ]);
  });

  describe("with a writer in another process", () => {
    let other: AppServer | undefined;
    before(async () => {
      other = await startServer("redis", { url, namespace: NAMESPACE, secret: SECRET });
    });
    after(() => other?.kill());

    it("a write of the other process between ours costs one retry, and every key of both arrives", async () => {
      const cookie = await hot.seed();
      backend.reset();
      // While this process's first write is held, the other process writes the same session.
      const answers = await hot.burst(
        cookie,
        () => backend.holdNext("compareAndSet"),
        async () =>
          expect((await fetch(`${other!.base}/put?k=theirs`, { headers: { cookie } })).status).to.equal(200),
      );
      expect(answers.map((a) => a.status)).to.deep.equal(Array(N).fill(200));
      expect(backend.missed).to.equal(1); // the held write, guarded by a version the other process replaced
      expect(backend.calls.compareAndSet).to.equal(3);
      expect((await hot.get("/read", cookie)).body).to.deep.equal({ seed: "1", theirs: "1", ...allKeys() });
    });
  });
});
