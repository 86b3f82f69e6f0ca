import { expect } from "chai";
import { CommitQueue, IDLE_MAX } from "../../../src/session/stores/commit_queue.js";

// The per-session commit queue of the session middleware: one key's tasks in arrival order, one at a time;
// other keys in parallel; a failing task hands the key on; done keys are kept for re-use up to a bound.

/** A task that records when it starts and ends, and finishes when `finish()` is called. */
function task(log: string[], name: string) {
  let finish!: (fail?: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    finish = (fail) => (fail ? reject(fail) : resolve(name));
  });
  return {
    run: () => {
      log.push(`start ${name}`);
      return done.finally(() => log.push(`end ${name}`));
    },
    finish,
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("CommitQueue", () => {
  it("runs one key's tasks one at a time, in arrival order", async () => {
    const queue = new CommitQueue();
    const log: string[] = [];
    const [a, b, c] = ["a", "b", "c"].map((name) => task(log, name));
    const results = [a!, b!, c!].map((t) => queue.run("s1", t.run));
    await tick();
    expect(log).to.deep.equal(["start a"]);
    c!.finish(); // finishing out of order changes nothing: c has not started
    b!.finish();
    a!.finish();
    expect(await Promise.all(results)).to.deep.equal(["a", "b", "c"]);
    expect(log).to.deep.equal(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(queue.size).to.equal(0);
  });

  it("runs tasks of other keys in parallel", async () => {
    const queue = new CommitQueue();
    const log: string[] = [];
    const [a, b] = ["a", "b"].map((name) => task(log, name));
    const results = [queue.run("s1", a!.run), queue.run("s2", b!.run)];
    await tick();
    expect(log).to.deep.equal(["start a", "start b"]);
    b!.finish();
    a!.finish();
    expect(await Promise.all(results)).to.deep.equal(["a", "b"]);
    expect(queue.size).to.equal(0);
  });

  it("hands the key on when a task fails, and passes the failure to its caller only", async () => {
    const queue = new CommitQueue();
    const log: string[] = [];
    const [a, b] = ["a", "b"].map((name) => task(log, name));
    const first = queue.run("s1", a!.run).catch((error: Error) => `failed: ${error.message}`);
    const second = queue.run("s1", b!.run);
    await tick();
    a!.finish(new Error("conflict"));
    await tick();
    expect(log).to.deep.equal(["start a", "end a", "start b"]);
    b!.finish();
    expect([await first, await second]).to.deep.equal(["failed: conflict", "b"]);
    expect(queue.size).to.equal(0);
  });

  it("runs a task of a key whose last task is done at once, as for a new key", async () => {
    const queue = new CommitQueue();
    const log: string[] = [];
    const [a, b] = ["a", "b"].map((name) => task(log, name));
    const first = queue.run("s1", a!.run);
    a!.finish();
    await first;
    expect(queue.size).to.equal(0);
    const second = queue.run("s1", b!.run);
    await tick();
    expect(log).to.deep.equal(["start a", "end a", "start b"]);
    expect(queue.size).to.equal(1);
    b!.finish();
    expect(await second).to.equal("b");
    expect(queue.size).to.equal(0);
  });

  it("forgets done keys once IDLE_MAX of them have gathered: what it holds stays bounded", async () => {
    const queue = new CommitQueue();
    let most = 0;
    for (let i = 0; i < IDLE_MAX * 3 + 7; i++) {
      await queue.run(`key-${i}`, () => Promise.resolve(i));
      most = Math.max(most, queue.held);
    }
    expect(most).to.equal(IDLE_MAX - 1);
    expect(queue.held).to.be.below(IDLE_MAX);
    expect(queue.size).to.equal(0);
    // A key busy through a sweep stays busy: its waiting task still runs after it, not beside it.
    const log: string[] = [];
    const [a, b] = ["a", "b"].map((name) => task(log, name));
    const busy = queue.run("long", a!.run);
    const behind = queue.run("long", b!.run);
    for (let i = 0; i < IDLE_MAX + 1; i++) await queue.run(`more-${i}`, () => Promise.resolve(i));
    expect(log).to.deep.equal(["start a"]);
    a!.finish();
    b!.finish();
    expect([await busy, await behind]).to.deep.equal(["a", "b"]);
    expect(log).to.deep.equal(["start a", "end a", "start b", "end b"]);
  });
});
