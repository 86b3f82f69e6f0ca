import { expect } from "chai";
import { randomBytesPooled } from "../../../src/session/sealing/random_pool.js";

describe("randomBytesPooled", () => {
  it("hands out buffers of the asked size that the caller owns", () => {
    for (const size of [1, 12, 16, 32, 1024, 5000]) {
      const bytes = randomBytesPooled(size);
      expect(bytes.length).to.equal(size);
      const copy = Buffer.from(bytes);
      randomBytesPooled(4096); // refills the pool: an earlier buffer must not change with it
      expect(bytes.equals(copy)).to.equal(true);
    }
  });

  it("never hands out the same bytes twice, across pool refills", () => {
    const seen = new Set<string>();
    // 3000 x 16 bytes crosses the 4 KiB pool about a dozen times.
    for (let i = 0; i < 3000; i++) seen.add(randomBytesPooled(16).toString("hex"));
    expect(seen.size).to.equal(3000);
  });

  it("gives bytes that look uniformly random (every value, roughly equally often)", () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2000; i++) for (const byte of randomBytesPooled(32)) counts[byte]!++;
    // 64,000 bytes: 250 expected per value; a pool handing out zeros or repeats fails this.
    expect(Math.min(...counts)).to.be.above(150);
    expect(Math.max(...counts)).to.be.below(350);
  });
});
