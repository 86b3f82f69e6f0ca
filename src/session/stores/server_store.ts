import { AtRestCipher } from "../at_rest.js";
import { decodeRecord, encodeRecord, type SerializerName } from "../codec.js";
import { SessionStoreUnavailableError } from "../errors.js";
import { channels } from "../events.js";
import { isWellFormedId, privateId } from "../ids.js";
import type { SessionRecord } from "../record.js";
import type { Backend } from "./backend.js";
import type { LoadResult, SessionStore } from "./store.js";

export interface ServerStoreOptions {
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
 * The layer every server-side store shares (Rack's abstract id store): the cookie holds a public id, the
 * backend only `2::` + its SHA-256; records are serialised, encrypted at rest, carry their own expiry, and
 * are checked on read. A backend that fails or stalls (past its own time bound) becomes
 * SessionStoreUnavailableError, never a hang or a silent success.
 */
export class ServerStore implements SessionStore {
  readonly name: string;
  readonly usesIds = true;
  readonly #backend: Backend;
  readonly #options: ServerStoreOptions;
  readonly #cipher: AtRestCipher | undefined;

  constructor(name: string, backend: Backend, options: ServerStoreOptions) {
    this.name = name;
    this.#backend = backend;
    this.#options = options;
    this.#cipher = options.encrypt ? new AtRestCipher(options.secrets) : undefined;
  }

  async load(cookieValue: string, now: number): Promise<LoadResult> {
    if (!isWellFormedId(cookieValue)) return { rejected: "malformed" };
    const key = privateId(cookieValue);
    if (channels.read.hasSubscribers) channels.read.publish({ sid: key, store: this.name });
    const stored = await this.#call("read", this.#backend.get(key));
    if (stored === undefined) return undefined; // strict: an unknown id is answered with a fresh one
    const decoded = this.#decode(stored);
    if (!decoded) return { rejected: this.#cipher ? "decrypt" : "payload" };
    if (decoded.expiresAt <= now) return { rejected: "expired" };
    return decoded;
  }

  async save(record: SessionRecord, expiresAt: number, id: string | undefined, now: number): Promise<string> {
    if (id === undefined || !isWellFormedId(id))
      throw new TypeError("a server-side store saves under a session id");
    const key = privateId(id);
    const value = this.#encode(record, expiresAt);
    await this.#call("write", this.#backend.set(key, value, Math.max(1000, expiresAt - now)));
    if (channels.write.hasSubscribers) channels.write.publish({ sid: key, store: this.name });
    return id;
  }

  touch(record: SessionRecord, expiresAt: number, cookieValue: string, now: number): Promise<string> {
    return this.save(record, expiresAt, cookieValue, now);
  }

  async destroy(cookieValue: string): Promise<void> {
    if (!isWellFormedId(cookieValue)) return;
    const key = privateId(cookieValue);
    await this.#call("delete", this.#backend.delete(key));
    if (channels.delete.hasSubscribers) channels.delete.publish({ sid: key, store: this.name });
  }

  close(): Promise<void> {
    return this.#backend.close();
  }

  #encode(record: SessionRecord, expiresAt: number): string {
    const { serializer } = this.#options;
    const bytes = encodeRecord(record, expiresAt, serializer);
    if (this.#cipher) return TAGS.encrypted[serializer] + this.#cipher.encrypt(bytes).toString("base64");
    return (
      TAGS.plain[serializer] + (serializer === "json" ? bytes.toString("utf8") : bytes.toString("base64"))
    );
  }

  /**
   * With encryption on, only encrypted values are read: a plain value planted in the backend is refused,
   * never trusted (S11). Either serializer is read, so changing `serializer` keeps existing sessions.
   */
  #decode(stored: string): ReturnType<typeof decodeRecord> {
    const tag = stored.slice(0, 4);
    const body = stored.slice(4);
    if (this.#cipher) {
      const serializer =
        tag === TAGS.encrypted.msgpack ? "msgpack" : tag === TAGS.encrypted.json ? "json" : undefined;
      const opened = serializer && this.#cipher.decrypt(Buffer.from(body, "base64"));
      return opened ? decodeRecord(opened.plaintext, serializer) : undefined;
    }
    if (tag === TAGS.plain.json) return decodeRecord(Buffer.from(body, "utf8"), "json");
    if (tag === TAGS.plain.msgpack) return decodeRecord(Buffer.from(body, "base64"), "msgpack");
    return undefined;
  }

  /**
   * Backends bound their own calls in time (the Backend contract; KeyvBackend does it per call). Here any
   * failure that is not already a SessionStoreUnavailableError becomes one, so the middleware answers 503.
   */
  async #call<T>(what: string, operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (err) {
      if (err instanceof SessionStoreUnavailableError) throw err;
      throw new SessionStoreUnavailableError(
        `session store "${this.name}" failed to ${what}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
}
