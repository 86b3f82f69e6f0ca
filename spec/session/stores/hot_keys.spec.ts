import { expect } from "chai";
import type { Versioned } from "../../../src/session/stores/backend.js";
import { type HotKey, HotKeys, IDLE_MAX } from "../../../src/session/stores/hot_keys.js";

// The per-key turns of the store core: one key's writes one at a time, in arrival order; the merges that
// queue up behind a write taken together as one group; a task that runs alone keeps its place; other keys in
// parallel; a failing write hands the key on; reads in flight shared until a write starts; idle keys kept
// up to a bound.

/** Something that settles when the spec says so. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * HotKeys whose group writer logs each group and answers it when the spec calls `finishNext()` (true, or
 * the error given); an error whose message starts with "too big" splits a group.
 */
function harness() {
  const groups: string[][] = [];
  const pending: { finish: (fail?: Error) => void }[] = [];
  const keys = new HotKeys<string>(
    (_key, _hot, jobs) => {
      groups.push(jobs);
      const done = deferred<boolean>();
      pending.push({ finish: (fail) => (fail ? done.reject(fail) : done.resolve(true)) });
      return done.promise;
    },
    (error) => error instanceof Error && error.message.startsWith("too big"),
  );
  const finishNext = async (fail?: Error) => {
    pending.shift()!.finish(fail);
    await tick();
  };
  /** What each merge was answered: true, or its error's message. */
  const answer = (merged: Promise<boolean>) => merged.catch((error: Error) => error.message);
  return { keys, groups, finishNext, answer };
}

describe("HotKeys", () => {
  it("writes the first merge at once and the merges that queued behind it as one group", async () => {
    const { keys, groups, finishNext } = harness();
    const answers = ["a", "b", "c", "d"].map((job) => keys.merge("s1", job));
    expect(groups).to.deep.equal([["a"]]);
    await finishNext();
    expect(groups).to.deep.equal([["a"], ["b", "c", "d"]]);
    await finishNext();
    expect(await Promise.all(answers)).to.deep.equal([true, true, true, true]);
    expect(keys.peek("s1")!.busy).to.equal(false);
  });

  it("answers every merge of a group with the group's failure, and the next group goes on", async () => {
    const { keys, groups, finishNext, answer } = harness();
    const answers = ["a", "b", "c", "d"].map((job) => answer(keys.merge("s1", job)));
    await finishNext();
    await finishNext(new Error("store down"));
    expect(await Promise.all(answers)).to.deep.equal([true, "store down", "store down", "store down"]);
    const later = answer(keys.merge("s1", "e"));
    expect(groups.at(-1)).to.deep.equal(["e"]);
    await finishNext();
    expect(await later).to.equal(true);
  });

  it("writes a group whose write is refused as too big one merge at a time, so only the one at fault fails", async () => {
    const { keys, groups, finishNext, answer } = harness();
    const answers = ["a", "b", "c", "d"].map((job) => answer(keys.merge("s1", job)));
    await finishNext();
    await finishNext(new Error("too big together"));
    await finishNext();
    await finishNext(new Error("too big alone"));
    await finishNext();
    expect(groups).to.deep.equal([["a"], ["b", "c", "d"], ["b"], ["c"], ["d"]]);
    expect(await Promise.all(answers)).to.deep.equal([true, true, "too big alone", true]);
  });

  it("keeps a task that runs alone in its place: merges before it, it, merges after it", async () => {
    const { keys, groups, finishNext } = harness();
    const log: string[] = [];
    void keys.merge("s1", "a");
    void keys.merge("s1", "b");
    const alone = keys.alone("s1", async () => {
      log.push(`alone after ${groups.length} groups`);
      return "done";
    });
    void keys.merge("s1", "c");
    void keys.merge("s1", "d");
    await finishNext(); // a
    expect(groups).to.deep.equal([["a"], ["b"]]);
    await finishNext(); // b
    expect(await alone).to.equal("done");
    await tick();
    expect(log).to.deep.equal(["alone after 2 groups"]);
    expect(groups).to.deep.equal([["a"], ["b"], ["c", "d"]]);
  });

  it("runs other keys in parallel", () => {
    const { keys, groups } = harness();
    void keys.merge("s1", "a");
    void keys.merge("s2", "b");
    expect(groups).to.deep.equal([["a"], ["b"]]);
  });

  it("hands the key on when a write fails or a task throws", async () => {
    const { keys, groups, finishNext, answer } = harness();
    const first = answer(keys.merge("s1", "a"));
    const thrown = keys
      .alone("s1", () => {
        throw new Error("boom");
      })
      .catch((error: Error) => error.message);
    void keys.merge("s1", "b");
    await finishNext(new Error("write failed"));
    expect(await first).to.equal("write failed");
    expect(await thrown).to.equal("boom");
    await tick();
    expect(groups).to.deep.equal([["a"], ["b"]]);
  });

  it("counts the writes it finished on a key (a read that saw one finish may predate it)", async () => {
    const { keys, finishNext } = harness();
    void keys.merge("s1", "a");
    void keys.merge("s1", "b");
    await finishNext();
    await finishNext();
    expect(keys.peek("s1")!.writes).to.equal(2);
  });

  describe("reads", () => {
    const stored = (version: string): Versioned => ({ value: version, version });

    it("shares a read in flight among the loads that start meanwhile", async () => {
      const { keys } = harness();
      const read = deferred<Versioned | undefined>();
      let fetches = 0;
      const fetch = () => {
        fetches++;
        return read.promise;
      };
      const answers = [keys.read("s1", fetch), keys.read("s1", fetch), keys.read("s1", fetch)];
      read.resolve(stored("v1"));
      const shared = { ...stored("v1"), readers: 3 }; // one answer, and how many loads share it
      expect(await Promise.all(answers)).to.deep.equal([shared, shared, shared]);
      expect(fetches).to.equal(1);
      await keys.read("s1", async () => stored("v2")); // settled: the next load reads again
      expect(await keys.read("s1", async () => stored("v3"))).to.deep.equal({ ...stored("v3"), readers: 1 });
    });

    it("stops sharing when a write starts, so a load after it never gets a read from before it", async () => {
      const { keys, finishNext } = harness();
      const before = deferred<Versioned | undefined>();
      const first = keys.read("s1", () => before.promise);
      void keys.merge("s1", "a");
      const after = keys.read("s1", async () => stored("after"));
      before.resolve(stored("before"));
      expect(await first).to.deep.equal({ ...stored("before"), readers: 1 });
      expect(await after).to.deep.equal({ ...stored("after"), readers: 1 });
      await finishNext();
    });

    it("stops sharing a read that began during a write once the write finishes (it may have missed it)", async () => {
      const { keys, finishNext } = harness();
      void keys.merge("s1", "a");
      const during = deferred<Versioned | undefined>();
      const first = keys.read("s1", () => during.promise); // began while "a" is being written
      await finishNext(); // "a" is written and its request answered
      const after = keys.read("s1", async () => stored("after a"));
      during.resolve(stored("before a"));
      expect(await first).to.deep.equal({ ...stored("before a"), readers: 1 });
      expect(await after).to.deep.equal({ ...stored("after a"), readers: 1 });
    });

    it("forgets this process's last write when a read with no write finishing meanwhile finds another version", async () => {
      const { keys } = harness();
      await keys.alone("s1", async (hot: HotKey) => {
        hot.written = {
          version: "mine",
          record: { data: new Map(), flash: new Map(), createdAt: 0 },
          expiresAt: 1,
        };
      });
      await keys.read("s1", async () => stored("mine"));
      expect(keys.peek("s1")!.written?.version).to.equal("mine");
      await keys.read("s1", async () => stored("another process's"));
      expect(keys.peek("s1")!.written).to.equal(undefined);
    });

    it("passes a failed read to every load sharing it, and reads again after", async () => {
      const { keys } = harness();
      const read = deferred<Versioned | undefined>();
      const answers = [keys.read("s1", () => read.promise), keys.read("s1", () => read.promise)];
      read.reject(new Error("down"));
      for (const answer of answers) expect(await answer.catch((e: Error) => e.message)).to.equal("down");
      expect(await keys.read("s1", async () => stored("back"))).to.deep.equal({
        ...stored("back"),
        readers: 1,
      });
    });
  });

  it(`keeps idle keys until ${IDLE_MAX} are held, then forgets them all; busy keys stay`, async () => {
    const { keys, finishNext } = harness();
    void keys.merge("busy", "x");
    for (let i = 0; i < IDLE_MAX - 1; i++) await keys.alone(`idle-${i}`, async () => undefined);
    expect(keys.held).to.equal(IDLE_MAX);
    await keys.alone("one more", async () => undefined);
    expect(keys.held).to.equal(2); // the busy key and the new one
    expect(keys.peek("busy")!.busy).to.equal(true);
    await finishNext();
  });
});
