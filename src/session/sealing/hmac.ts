import { hash } from "node:crypto";

/** SHA-256's block size, in bytes: the length of HMAC's padded key. */
const BLOCK = 64;

/**
 * HMAC-SHA256 (RFC 2104) under one key whose padded forms are computed once:
 * `H((K xor opad) || H((K xor ipad) || message))`.
 *
 * Why not `createHmac`: each call makes a native object holding an OpenSSL context, freed only when the
 * garbage collector reaches it, and one seal per request leaves hundreds of them for every young-generation
 * collection to free. `crypto.hash` is one-shot (no object, and Node keeps the digest algorithm fetched),
 * and this class writes into two buffers of its own, so a MAC allocates nothing but its result. Checked
 * against `createHmac` on random keys and messages in spec/session/sealing/hmac.spec.ts.
 */
export class HmacSha256 {
  /** K xor ipad, then room for the message (grown when a longer one comes). */
  #inner: Buffer;
  /** K xor opad, then the inner digest. */
  readonly #outer = Buffer.alloc(BLOCK + 32, 0x5c);

  constructor(key: Buffer) {
    // RFC 2104: a key longer than a block is replaced by its hash; a shorter one is padded with zeros.
    const k = key.length > BLOCK ? hash("sha256", key, "buffer") : key;
    this.#inner = Buffer.alloc(BLOCK + 512, 0x36);
    for (let i = 0; i < k.length; i++) {
      this.#inner[i]! ^= k[i]!;
      this.#outer[i]! ^= k[i]!;
    }
  }

  /** The MAC of `message` (UTF-8, as `createHmac(...).update(string)` reads it), in base64url. */
  digest(message: string): string {
    const length = Buffer.byteLength(message);
    if (BLOCK + length > this.#inner.length) {
      const grown = Buffer.alloc(BLOCK + length);
      this.#inner.copy(grown, 0, 0, BLOCK);
      this.#inner = grown;
    }
    const inner = this.#inner;
    inner.write(message, BLOCK, "utf8");
    // The inner digest as a "binary" string (one char a byte) goes straight into the outer buffer: no Buffer.
    this.#outer.write(hash("sha256", inner.subarray(0, BLOCK + length), "binary"), BLOCK, "binary");
    return hash("sha256", this.#outer, "base64url");
  }
}
