import { expect } from "chai";
import { BoundedCache } from "../../../src/session/sealing/bounded_cache.js";

describe("BoundedCache", () => {
  it("never holds more than its max, forgetting the oldest insert first", () => {
    const cache = new BoundedCache<string, number>(3);
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, i);
    expect(cache.size).to.equal(3);
    expect([cache.get("k6"), cache.get("k7"), cache.get("k8"), cache.get("k9")]).to.deep.equal([
      undefined,
      7,
      8,
      9,
    ]);
  });

  it("updates a key it holds in place: its value changes, its age does not", () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("a", 10); // a stays the oldest
    cache.set("c", 3);
    expect(cache.get("a")).to.equal(undefined);
    expect(cache.get("b")).to.equal(2);
    expect(cache.get("c")).to.equal(3);
    expect(cache.size).to.equal(2);
  });

  it("keeps exactly the newest max keys over many wraps of its ring", () => {
    const cache = new BoundedCache<number, number>(7);
    for (let i = 0; i < 1000; i++) {
      cache.set(i, i);
      if (i % 3 === 0) cache.set(i, -i); // re-sets mixed in must not take a slot
    }
    expect(cache.size).to.equal(7);
    for (let i = 993; i < 1000; i++) expect(cache.get(i)).to.equal(i % 3 === 0 ? -i : i);
    expect(cache.get(992)).to.equal(undefined);
  });

  it("getOrSet makes a missing value once, keeps it, and evicts like set", () => {
    const cache = new BoundedCache<string, number>(2);
    let made = 0;
    const make = () => ++made;
    expect(cache.getOrSet("a", make)).to.equal(1);
    expect(cache.getOrSet("a", make)).to.equal(1); // kept: not made again
    expect(cache.getOrSet("b", make)).to.equal(2);
    expect(cache.getOrSet("c", make)).to.equal(3); // a, the oldest, goes
    expect([cache.get("a"), cache.size, made]).to.deep.equal([undefined, 2, 3]);
  });

  it("works with a max of 1 and refuses a max below 1 or not whole", () => {
    const cache = new BoundedCache<string, string>(1);
    cache.set("a", "x");
    cache.set("b", "y");
    expect([cache.get("a"), cache.get("b"), cache.size]).to.deep.equal([undefined, "y", 1]);
    for (const max of [0, -1, 1.5, Number.NaN]) expect(() => new BoundedCache(max)).to.throw(RangeError);
  });
});
