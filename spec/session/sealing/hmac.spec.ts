import { createHmac, randomBytes } from "node:crypto";
import { expect } from "chai";
import { HmacSha256 } from "../../../src/session/sealing/hmac.js";

// HmacSha256 against Node's createHmac (OpenSSL) as the oracle, and RFC 4231's published vectors.

describe("HmacSha256", () => {
  it("agrees with createHmac on random keys (short, one block, longer than a block) and messages", () => {
    for (const keyLength of [0, 1, 16, 32, 63, 64, 65, 100, 200]) {
      const key = randomBytes(keyLength);
      const mac = new HmacSha256(key);
      for (const length of [0, 1, 55, 56, 63, 64, 65, 300, 511, 512, 513, 5000]) {
        const message = randomBytes(length).toString("base64url").slice(0, length);
        const expected = createHmac("sha256", key).update(message).digest("base64url");
        expect(mac.digest(message), `key ${keyLength} B, message ${length} chars`).to.equal(expected);
      }
    }
  });

  it("reads a message as UTF-8, as createHmac does with a string", () => {
    const key = randomBytes(32);
    for (const message of ["é", "🦦 otter", "a\u0000b", "日本語".repeat(300)]) {
      expect(new HmacSha256(key).digest(message)).to.equal(
        createHmac("sha256", key).update(message).digest("base64url"),
      );
    }
  });

  it("gives the same MAC for a message after longer and shorter ones (nothing left over in its buffers)", () => {
    const key = randomBytes(32);
    const mac = new HmacSha256(key);
    const first = mac.digest("short");
    mac.digest("x".repeat(10_000));
    mac.digest("y");
    expect(mac.digest("short")).to.equal(first);
  });

  it("matches RFC 4231 test cases 1, 2 and 6 (HMAC-SHA-256)", () => {
    const hex = (b64url: string) => Buffer.from(b64url, "base64url").toString("hex");
    expect(hex(new HmacSha256(Buffer.alloc(20, 0x0b)).digest("Hi There"))).to.equal(
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    );
    expect(hex(new HmacSha256(Buffer.from("Jefe")).digest("what do ya want for nothing?"))).to.equal(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
    expect(
      hex(
        new HmacSha256(Buffer.alloc(131, 0xaa)).digest(
          "Test Using Larger Than Block-Size Key - Hash Key First",
        ),
      ),
    ).to.equal("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  });
});
