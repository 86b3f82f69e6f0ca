import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { Deadlines } from "../../../src/session/stores/deadlines.js";

// Deadlines: one timer bounds every call of a backend. What matters is the bound: a call that never
// answers is rejected about timeoutMs after it started, whatever else is in flight around it.

const never = () => new Promise<never>(() => {});
const answer = <T>(ms: number, value: T) => sleep(ms).then(() => value);

async function settle<T>(call: Promise<T>): Promise<{ value?: T; error?: Error; at: number }> {
  const start = performance.now();
  try {
    return { value: await call, at: performance.now() - start };
  } catch (error) {
    return { error: error as Error, at: performance.now() - start };
  }
}

describe("Deadlines", () => {
  it("answers what the work answers, and rejects what it rejects or throws", async () => {
    const deadlines = new Deadlines(200);
    expect(await deadlines.run(() => Promise.resolve(7))).to.equal(7);
    expect((await settle(deadlines.run(() => Promise.reject(new Error("no"))))).error?.message).to.equal(
      "no",
    );
    const thrown = await settle(
      deadlines.run(() => {
        throw new Error("sync");
      }),
    );
    expect(thrown.error?.message).to.equal("sync");
  });

  it("rejects a call that never answers after timeoutMs, not before", async () => {
    const result = await settle(new Deadlines(100).run(never));
    expect(result.error?.message).to.equal("no answer within 100 ms");
    // Not before the deadline; the upper bound only says "rejected, not hung" (a loaded CI box fires late).
    expect(result.at).to.be.within(95, 3000);
  });

  it("bounds a stuck call among quick ones, and calls started later by their own start", async () => {
    const deadlines = new Deadlines(150);
    const stuck = settle(deadlines.run(never));
    const quick = Array.from({ length: 50 }, (_, i) => deadlines.run(() => answer(i % 5, i)));
    expect(await Promise.all(quick)).to.have.length(50);
    await sleep(80);
    const late = settle(deadlines.run(never));
    const [first, second] = await Promise.all([stuck, late]);
    expect(first.error?.message).to.match(/no answer within 150 ms/);
    expect(first.at).to.be.within(145, 3000);
    expect(second.error?.message).to.match(/no answer within 150 ms/);
    expect(second.at).to.be.within(145, 3000); // from its own start, not the stuck call's
  });

  it("keeps working after a quiet spell, and a late failure of abandoned work is not unhandled", async () => {
    const deadlines = new Deadlines(50);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const lateFailure = () => sleep(120).then(() => Promise.reject(new Error("late")));
      expect((await settle(deadlines.run(lateFailure))).error?.message).to.match(/no answer/);
      await sleep(150);
      expect(await deadlines.run(() => answer(5, "again"))).to.equal("again");
      expect((await settle(deadlines.run(never))).error?.message).to.match(/no answer within 50 ms/);
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("refuses a timeout that is not a positive number", () => {
    for (const ms of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new Deadlines(ms), String(ms)).to.throw(RangeError);
    }
  });
});
