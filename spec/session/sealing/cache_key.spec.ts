import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { cacheKeyAt } from "../../../src/session/sealing/cache_key.js";

// The verified-value caches key their entries by five characters of a random part (cache_key.ts): each
// character must count for its whole 6 bits on both alphabets, or unrelated values share keys more often.

describe("cacheKeyAt", () => {
  const base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const base64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

  for (const [name, alphabet] of [
    ["base64", base64],
    ["base64url", base64url],
  ] as const) {
    it(`gives each ${name} character its own value: the character's 6 bits, as base64 decodes them`, () => {
      for (let i = 0; i < 64; i++) expect(cacheKeyAt(`AAAA${alphabet[i]}`, 0), alphabet[i]).to.equal(i);
      expect(new Set([...alphabet].map((c) => cacheKeyAt(c.repeat(5), 0))).size).to.equal(64);
    });
  }

  it("is the 30 bits base64 decoding gives the five characters at `from`, and reads nothing else", () => {
    for (let n = 0; n < 50; n++) {
      const bytes = randomBytes(30);
      const text = bytes.toString("base64url");
      const from = n % 20;
      // Five characters are 30 bits; read them off the decoded bytes as a check independent of the table.
      let expected = 0;
      for (let bit = from * 6; bit < from * 6 + 30; bit++)
        expected = expected * 2 + ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1);
      expect(cacheKeyAt(text, from)).to.equal(expected);
      const outside = `${text.slice(0, from)}${text.slice(from, from + 5)}${"A".repeat(text.length - from - 5)}`;
      expect(cacheKeyAt(outside, from)).to.equal(expected);
    }
  });

  it("counts positions past the end as 0 and gives any other character a 6-bit value, never throwing", () => {
    expect(cacheKeyAt("", 0)).to.equal(0);
    expect(cacheKeyAt("B", 0)).to.equal(1 << 24);
    expect(cacheKeyAt("~*.!\u0100", 0)).to.equal(0);
    const key = cacheKeyAt("\u00ff\u00c2\u2603é\ud83d", 0);
    expect(Number.isInteger(key) && key >= 0 && key < 2 ** 30, String(key)).to.equal(true);
  });
});
