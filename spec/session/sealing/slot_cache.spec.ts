import { expect } from "chai";
import { SlotCache } from "../../../src/session/sealing/slot_cache.js";

// The verified-value caches' store (slot_cache.ts): integer keys, two slots per pair of low bits, a new key
// taking the older slot of its pair. Bounded by construction; an entry goes only when two newer keys share
// its pair.

describe("SlotCache", () => {
  it("gives back what was set, and nothing for a key it never saw", () => {
    const cache = new SlotCache<string>(8);
    cache.set(5, "five");
    cache.set(1 << 20, "big");
    expect(cache.get(5)).to.equal("five");
    expect(cache.get(1 << 20)).to.equal("big");
    expect(cache.get(13)).to.equal(undefined); // 13 shares 5's pair (13 & 6 === 5 & 6)
    expect(cache.get(0)).to.equal(undefined); // the slots' initial key, with no value
  });

  it("keeps two keys of one pair, and a third takes the older one's slot", () => {
    const cache = new SlotCache<string>(8);
    // 4, 12 and 20 all map to the pair at slots 4-5 (key & 6).
    cache.set(4, "a");
    cache.set(12, "b");
    expect([cache.get(4), cache.get(12)]).to.deep.equal(["a", "b"]);
    cache.set(20, "c");
    expect([cache.get(4), cache.get(12), cache.get(20)]).to.deep.equal([undefined, "b", "c"]);
    cache.set(28, "d");
    expect([cache.get(12), cache.get(20), cache.get(28)]).to.deep.equal([undefined, "c", "d"]);
    // Other pairs are untouched by all that.
    cache.set(1, "other");
    expect(cache.get(1)).to.equal("other");
    expect(cache.size).to.equal(3);
  });

  it("updates a key it holds in place, which makes it the newer of its pair", () => {
    const cache = new SlotCache<string>(8);
    cache.set(4, "a");
    cache.set(12, "b");
    cache.set(4, "a2");
    cache.set(20, "c"); // replaces 12, now the older
    expect([cache.get(4), cache.get(12), cache.get(20)]).to.deep.equal(["a2", undefined, "c"]);
    expect(cache.size).to.equal(2);
  });

  it("never holds more than its slots, and keeps the newest keys of every pair over many inserts", () => {
    const slots = 64;
    const cache = new SlotCache<number>(slots);
    const newest = new Map<number, number[]>(); // pair -> its two newest keys
    for (let n = 0; n < 5000; n++) {
      const key = (n * 2654435761) >>> 2; // spread over 30 bits
      cache.set(key, n);
      const pair = key & (slots - 2);
      newest.set(pair, [...(newest.get(pair) ?? []).filter((k) => k !== key), key].slice(-2));
    }
    expect(cache.size).to.be.at.most(slots);
    for (const keys of newest.values())
      for (const key of keys) expect(cache.get(key)).to.not.equal(undefined);
  });

  it("refuses a size that is not a power of two of at least 2", () => {
    for (const bad of [0, 1, 3, 12, 2.5, -4])
      expect(() => new SlotCache(bad), String(bad)).to.throw(RangeError);
  });
});
