import type { SessionRecord } from "../record.js";
import { AtRestCipher } from "./at_rest.js";
import { cacheKeyAt } from "./cache_key.js";
import { type Decoded, decodeRecord, encodeRecord, type SerializerName } from "./codec.js";
import { SlotCache } from "./slot_cache.js";

export interface RecordSealerOptions {
  /** The current secret first, then old ones (encryption at rest). */
  secrets: readonly string[];
  encrypt: boolean;
  serializer: SerializerName;
}

// What a stored value says it is: encrypted or plain, msgpack or JSON. Encrypted values are base64, plain
// JSON is stored as text (readable in a database, as `encrypt: false` asks), plain msgpack as base64.
const TAGS = {
  encrypted: { msgpack: "em1:", json: "ej1:" },
  plain: { msgpack: "pm1:", json: "pj1:" },
} as const;

/**
 * Opened values are remembered by their exact stored string: a session read again unchanged (every
 * read-only request) or right after this process wrote it (read+write) is not decrypted again, which is
 * most of what opening costs (a GCM context per call). The string, IV and tag included, is what was
 * authenticated, so the same string always opens to the same bytes; anything else is decrypted. Small
 * values only, and few (OPENED_MAX slots, slot_cache.ts): at most OPENED_MAX x ~7 KB of plaintext this
 * process holds anyway. The cache is keyed by five characters of the GCM tag (cache_key.ts), and a hit
 * compares the whole string.
 */
const OPENED_MAX = 512;
const OPENED_MAX_CHARS = 4096;
/**
 * Where the cache key is read: after the 4-character tag, base64 characters 24-43 encode bytes 18-32 of the
 * sealed value, all inside the GCM tag (at_rest.ts: version 1, key id 4, IV 12, then the 16-byte tag).
 */
const KEY_AT = 4 + 24;

interface Opened {
  stored: string;
  /** The plaintext as a latin1 string (one byte a character): smaller to keep than a Buffer view. */
  plaintext: string;
}

/**
 * A record as the server-side stores keep it: serialised, encrypted at rest unless `encrypt: false`, and
 * tagged, in one string. Shared by the Keyv stores and the `database` store.
 */
export class RecordSealer {
  readonly #serializer: SerializerName;
  readonly #cipher: AtRestCipher | undefined;
  readonly #opened = new SlotCache<Opened>(OPENED_MAX);

  constructor(options: RecordSealerOptions) {
    this.#serializer = options.serializer;
    this.#cipher = options.encrypt ? new AtRestCipher(options.secrets) : undefined;
  }

  encode(record: SessionRecord, expiresAt: number): string {
    const serializer = this.#serializer;
    const bytes = encodeRecord(record, expiresAt, serializer);
    if (this.#cipher) {
      const stored = TAGS.encrypted[serializer] + this.#cipher.encrypt(bytes).toString("base64");
      this.#remember(stored, bytes);
      return stored;
    }
    return (
      TAGS.plain[serializer] + (serializer === "json" ? bytes.toString("utf8") : bytes.toString("base64"))
    );
  }

  /** `stored` decoded and still live at `now`, or why not (the reasons a load reports as suspicious). */
  open(stored: string, now: number): Decoded | { rejected: "decrypt" | "payload" | "expired" } {
    const decoded = this.decode(stored);
    if (!decoded) return { rejected: this.#cipher ? "decrypt" : "payload" };
    return decoded.expiresAt > now ? decoded : { rejected: "expired" };
  }

  /** The live record in `stored`; undefined when there is none, it is unreadable or it expired. */
  live(stored: string | undefined, now: number): Decoded | undefined {
    if (stored === undefined) return undefined;
    const opened = this.open(stored, now);
    return "rejected" in opened ? undefined : opened;
  }

  /** Keeps `plaintext` (a copy: the serializer reuses its buffer) as what `stored` opens to. */
  #remember(stored: string, plaintext: Buffer): void {
    if (stored.length <= OPENED_MAX_CHARS)
      this.#opened.set(cacheKeyAt(stored, KEY_AT), { stored, plaintext: plaintext.toString("latin1") });
  }

  /**
   * The record, or undefined. With encryption on, only encrypted values are read: a plain value planted in
   * the store is refused, never trusted: nothing falls back to unauthenticated data. Either serializer is
   * read, so changing `serializer` keeps existing sessions.
   */
  decode(stored: string): Decoded | undefined {
    const tag = stored.slice(0, 4);
    const body = stored.slice(4);
    if (this.#cipher) {
      const serializer =
        tag === TAGS.encrypted.msgpack ? "msgpack" : tag === TAGS.encrypted.json ? "json" : undefined;
      if (!serializer) return undefined;
      const known = this.#opened.get(cacheKeyAt(stored, KEY_AT));
      if (known !== undefined && known.stored === stored)
        return decodeRecord(Buffer.from(known.plaintext, "latin1"), serializer);
      const opened = this.#cipher.decrypt(Buffer.from(body, "base64"));
      if (!opened) return undefined;
      this.#remember(stored, opened.plaintext);
      return decodeRecord(opened.plaintext, serializer);
    }
    if (tag === TAGS.plain.json) return decodeRecord(Buffer.from(body, "utf8"), "json");
    if (tag === TAGS.plain.msgpack) return decodeRecord(Buffer.from(body, "base64"), "msgpack");
    return undefined;
  }
}
