import { createCipheriv, createDecipheriv, createHash, hkdfSync } from "node:crypto";
import { randomFillPooled } from "./random_pool.js";

// Encryption at rest for server-side stores: AES-256-GCM with keys derived from the secrets by HKDF.
// Layout: version (1) | key id (4) | iv (12) | tag (16) | ciphertext. The key id (a hash of the derived
// key, not of the secret) picks the key directly; a record under an old secret still opens and says so,
// and the next write re-encrypts it under the current one. GCM authenticates: a changed byte fails, and
// nothing falls back to the plain bytes.

const VERSION = 1;
const HEADER = 1 + 4 + 12 + 16;

interface Key {
  id: Buffer;
  key: Buffer;
}

export interface Opened {
  plaintext: Buffer;
  oldKey: boolean;
}

export class AtRestCipher {
  readonly #keys: Key[];

  /** @param secrets the current secret first, then old ones */
  constructor(secrets: readonly string[]) {
    this.#keys = secrets.map((secret) => {
      const key = Buffer.from(hkdfSync("sha256", secret, "stoat session at rest", "aes-256-gcm v1", 32));
      return { key, id: createHash("sha256").update(key).digest().subarray(0, 4) };
    });
  }

  encrypt(plaintext: Buffer): Buffer {
    const { id, key } = this.#keys[0]!;
    // Laid out in place in one buffer: header, IV (fresh CSPRNG bytes), tag, then the ciphertext, which in
    // GCM (a stream mode) comes out of update() whole, as long as the plaintext.
    const sealed = Buffer.allocUnsafe(HEADER + plaintext.length);
    sealed[0] = VERSION;
    id.copy(sealed, 1);
    randomFillPooled(sealed, 5, 12);
    const cipher = createCipheriv("aes-256-gcm", key, sealed.subarray(5, 17));
    const body = cipher.update(plaintext);
    cipher.final();
    if (body.length !== plaintext.length) throw new Error("AES-256-GCM returned a partial ciphertext");
    body.copy(sealed, HEADER);
    cipher.getAuthTag().copy(sealed, 17);
    return sealed;
  }

  /** The plaintext, or undefined when no key opens it (tampered, foreign, or its secret was removed). */
  decrypt(sealed: Buffer): Opened | undefined {
    if (sealed.length < HEADER || sealed[0] !== VERSION) return undefined;
    const id = sealed.subarray(1, 5);
    const index = this.#keys.findIndex((k) => k.id.equals(id));
    if (index === -1) return undefined;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#keys[index]!.key, sealed.subarray(5, 17));
      decipher.setAuthTag(sealed.subarray(17, 33));
      const plaintext = Buffer.concat([decipher.update(sealed.subarray(HEADER)), decipher.final()]);
      return { plaintext, oldKey: index > 0 };
    } catch {
      return undefined;
    }
  }
}
