import { SessionStoreUnavailableError } from "../errors.js";
import { channels } from "../events.js";
import { isWellFormedId, privateId } from "../ids.js";
import type { SessionRecord } from "../record.js";
import { RecordSealer, type RecordSealerOptions } from "../record_sealer.js";
import type { Backend } from "./backend.js";
import type { LoadResult, SessionStore } from "./store.js";

export type ServerStoreOptions = RecordSealerOptions;

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
  readonly #sealer: RecordSealer;

  constructor(name: string, backend: Backend, options: ServerStoreOptions) {
    this.name = name;
    this.#backend = backend;
    this.#sealer = new RecordSealer(options);
  }

  async load(cookieValue: string, now: number): Promise<LoadResult> {
    if (!isWellFormedId(cookieValue)) return { rejected: "malformed" };
    const key = privateId(cookieValue);
    if (channels.read.hasSubscribers) channels.read.publish({ sid: key, store: this.name });
    const stored = await this.#call("read", this.#backend.get(key));
    if (stored === undefined) return undefined; // strict: an unknown id is answered with a fresh one
    const decoded = this.#sealer.decode(stored);
    if (!decoded) return { rejected: this.#sealer.encrypted ? "decrypt" : "payload" };
    if (decoded.expiresAt <= now) return { rejected: "expired" };
    return decoded;
  }

  async save(record: SessionRecord, expiresAt: number, id: string | undefined, now: number): Promise<string> {
    if (id === undefined || !isWellFormedId(id))
      throw new TypeError("a server-side store saves under a session id");
    const key = privateId(id);
    const value = this.#sealer.encode(record, expiresAt);
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
