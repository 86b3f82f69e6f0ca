import type { Keyv } from "keyv";
import { SessionOverflowError, SessionStoreUnavailableError } from "../errors.js";
import type { Backend, Versioned } from "./backend.js";
import { Deadlines } from "./deadlines.js";

// A Backend over any Keyv 5 instance. Keyv and its adapters swallow errors by default: Keyv#get catches a
// store failure and answers undefined unless `throwOnErrors` is set (keyv/dist/index.js, `get`: "catch
// (error) { if (this.throwOnErrors) throw error; }"), and Keyv#set answers `false` instead of throwing. So
// this class turns `throwOnErrors` on, listens to "error" (connection losses arrive only as events), bounds
// every call in time, treats a `set` that did not answer `true` as a failure, and wraps every failure in
// SessionStoreUnavailableError naming the store and the last error the store reported.

export interface KeyvBackendOptions {
  /** The store's name for messages: "redis", "memcache", ... */
  name: string;
  /** The longest any one call may take; then it rejects (the call itself is abandoned, not cancelled). */
  timeoutMs: number;
  /** Upper bound for the TTL handed to the store (memcached reads more than 30 days as a date). */
  maxTtlMs?: number;
  /**
   * Largest value the store keeps (memcached: 1 MiB per item, key and Keyv's wrapping included). A larger
   * one is refused before it is sent, as SessionOverflowError: memcached would answer "Value too large"
   * and also drop the session that was stored under the key.
   */
  maxValueBytes?: number;
  /**
   * Releases what the backend holds (pools, sockets, timers). Defaults to `keyv.disconnect()`. Bounded by
   * `timeoutMs`, after which `destroy` (when given) tears the connection down.
   */
  close?: () => Promise<void> | void;
  destroy?: () => void;
  /**
   * Atomic operations on the raw stored strings (what Keyv serialised), keyed as Keyv passes keys to its
   * adapter. Given, the backend offers getVersioned/compareAndSet/compareAndMove (the redis adapter: Lua).
   */
  raw?: RawAtomics;
}

export interface RawAtomics {
  /** The raw stored string; null or undefined when there is none (node-redis answers null). */
  get(key: string): Promise<string | null | undefined>;
  compareAndSet(key: string, expected: string, next: string, ttlMs: number): Promise<boolean>;
  compareAndMove(from: string, expected: string, to: string, next: string, ttlMs: number): Promise<boolean>;
}

export class KeyvBackend implements Backend {
  readonly name: string;
  readonly #keyv: Keyv;
  readonly #options: KeyvBackendOptions;
  /** The latest errors the store reported as events (Keyv also re-emits each failing call's own error). */
  #reported: unknown[] = [];
  #closed = false;
  /** Keyv serialises as its default serializer does, uncompressed: the raw path may skip Keyv (#unwrap). */
  readonly #plainEnvelope: boolean;
  /** Bounds every call by timeoutMs, with one timer for all of them. */
  readonly #deadlines: Deadlines;
  readonly #onError = (error: unknown) => {
    this.#reported.push(error);
    if (this.#reported.length > 4) this.#reported.shift();
  };

  getVersioned?: (key: string) => Promise<Versioned | undefined>;
  compareAndSet?: Backend["compareAndSet"];
  compareAndMove?: (
    from: string,
    expected: string,
    to: string,
    next: string,
    ttlMs: number,
  ) => Promise<boolean>;

  constructor(keyv: Keyv, options: KeyvBackendOptions) {
    if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
      throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${options.timeoutMs}`);
    }
    this.name = options.name;
    this.#keyv = keyv;
    this.#options = options;
    this.#deadlines = new Deadlines(options.timeoutMs);
    keyv.throwOnErrors = true;
    // Keyv forwards its adapter's "error" events (keyv/dist/index.js: `store.on("error", (error) =>
    // this.emit("error", error))`) and drops them unless `emitErrors` is on.
    keyv.opts.emitErrors = true;
    keyv.on("error", this.#onError);
    const raw = options.raw;
    this.#plainEnvelope = raw !== undefined && writesPlainEnvelope(keyv);
    if (raw) {
      this.getVersioned = (key) => this.#getVersioned(raw, key);
      // Written: the envelope stored, which is the version getVersioned would read.
      this.compareAndSet = (key, expected, next, ttlMs) =>
        this.#withStored(next, ttlMs, true, (stored) =>
          this.#bounded("compare-and-set", () =>
            raw.compareAndSet(key, expected, stored, this.#ttl(ttlMs)).then((ok) => ok && stored),
          ),
        );
      this.compareAndMove = (from, expected, to, next, ttlMs) =>
        this.#withStored(next, ttlMs, false, (stored) =>
          this.#bounded("compare-and-move", () =>
            raw.compareAndMove(from, expected, to, stored, this.#ttl(ttlMs)),
          ),
        );
    }
  }

  /**
   * `write(stored)` with `value` in Keyv's envelope: at once for the plain envelope (no promise of its own),
   * after Keyv's serializer otherwise. Every failure, a size check's included, is a rejection.
   */
  #withStored<T>(
    value: string,
    ttlMs: number,
    checkSize: boolean,
    write: (stored: string) => Promise<T>,
  ): Promise<T> {
    try {
      if (checkSize) this.#checkSize(value);
      const plain = this.#plainSerialized(value, ttlMs);
      return plain !== undefined ? write(plain) : this.#serialize(value, ttlMs).then(write);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** One `then` on the read, and no promise of its own for the usual (plain envelope) value. */
  #getVersioned(raw: RawAtomics, key: string): Promise<Versioned | undefined> {
    return this.#bounded("get", () => raw.get(key)).then((stored) => {
      if (stored === undefined || stored === null) return undefined;
      const plain = this.#plainEnvelope ? plainEnvelopeOf(stored) : undefined;
      return plain
        ? this.#versioned(stored, plain)
        : this.#unwrap(stored).then((data) => this.#versioned(stored, data));
    });
  }

  #versioned(
    stored: string,
    data: { value?: unknown; expires?: unknown } | undefined,
  ): Versioned | undefined {
    if (typeof data?.expires === "number" && data.expires <= Date.now()) return undefined;
    const value = data?.value;
    if (typeof value !== "string") {
      throw new SessionStoreUnavailableError(
        `session backend "${this.name}" returned a ${typeof value} where a string was stored`,
      );
    }
    return { value, version: stored };
  }

  /** Keyv's `{ value, expires }` envelope read by Keyv itself (a custom serializer, or a ":"-prefixed value). */
  async #unwrap(stored: string): Promise<{ value?: unknown; expires?: unknown } | undefined> {
    return (await this.#keyv.deserializeData(stored)) as { value?: unknown; expires?: unknown } | undefined;
  }

  /**
   * The envelope for `value` when Keyv's default serializer is in use: byte for byte what it writes for such
   * a value (checked in the constructor), with no promise. Undefined when Keyv must serialize it.
   */
  #plainSerialized(value: string, ttlMs: number): string | undefined {
    if (!this.#plainEnvelope || typeof value !== "string" || value.startsWith(":")) return undefined;
    return envelope(value, Date.now() + this.#ttl(ttlMs));
  }

  /** What Keyv#set would store for `value` (its `{ value, expires }` envelope), so Keyv#get reads it back. */
  async #serialize(value: string, ttlMs: number): Promise<string> {
    if (typeof value !== "string") throw new TypeError("a backend stores strings only");
    const expires = Date.now() + this.#ttl(ttlMs);
    const stored: unknown = await this.#keyv.serializeData({ value, expires });
    if (typeof stored !== "string") throw new TypeError("the Keyv serializer did not produce a string");
    return stored;
  }

  #ttl(ttlMs: number): number {
    if (!(Number.isFinite(ttlMs) && ttlMs > 0)) {
      throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
    }
    // Keyv reads a TTL of 0 as "forever" and memcached a fraction of a second as 0: at least one second.
    return Math.max(1000, Math.min(Math.ceil(ttlMs), this.#options.maxTtlMs ?? Number.MAX_SAFE_INTEGER));
  }

  /** The Keyv instance underneath, for specs and diagnostics. */
  get keyv(): Keyv {
    return this.#keyv;
  }

  /** The last error the store reported as an event (a lost connection, a failed reconnect), if any. */
  get lastError(): unknown {
    return this.#reported.at(-1);
  }

  async get(key: string): Promise<string | undefined> {
    const value: unknown = await this.#bounded("get", () => this.#keyv.get(key));
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") {
      throw new SessionStoreUnavailableError(
        `session backend "${this.name}" returned a ${typeof value} where a string was stored`,
      );
    }
    return value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (typeof value !== "string") throw new TypeError("a backend stores strings only");
    this.#checkSize(value);
    const ttl = this.#ttl(ttlMs);
    const confirmed = await this.#bounded("set", () => this.#keyv.set(key, value, ttl));
    if (confirmed !== true) {
      throw this.#failure("set", new Error("the store did not confirm the write"));
    }
  }

  #checkSize(value: string): void {
    const max = this.#options.maxValueBytes;
    if (max === undefined) return;
    const bytes = Buffer.byteLength(value);
    if (bytes > max) {
      throw new SessionOverflowError(
        `the encoded session is ${bytes} bytes; the ${this.name} store keeps at most ${max}: store less in the session`,
      );
    }
  }

  async delete(key: string): Promise<boolean> {
    // `false` means "there was nothing to delete": with throwOnErrors on, a failure throws instead.
    return (await this.#bounded("delete", () => this.#keyv.delete(key))) !== false;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const { close, destroy, timeoutMs } = this.#options;
    try {
      await withTimeout(
        Promise.resolve().then(() => (close ? close() : this.#keyv.disconnect())),
        timeoutMs,
      );
    } catch (error) {
      if (!destroy) throw this.#failure("close", error);
      destroy();
    } finally {
      this.#keyv.off("error", this.#onError);
    }
  }

  /** `run()` bounded in time, its failure named; one `then` (an async wrapper would be two promises). */
  #bounded<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new SessionStoreUnavailableError(`session backend "${this.name}" is closed`));
    }
    return this.#deadlines.run(run).then(
      (result) => {
        if (this.#reported.length > 0) this.#reported = [];
        return result;
      },
      (error: unknown) => {
        throw this.#failure(operation, error);
      },
    );
  }

  #failure(operation: string, error: unknown): SessionStoreUnavailableError {
    if (error instanceof SessionStoreUnavailableError) return error;
    let message = describe(error);
    // "The client is offline" says little on its own: add why, when the store said so earlier.
    const why = this.#reported.findLast((reported) => reported !== error && describe(reported) !== message);
    if (why !== undefined) message += ` (last error reported by the store: ${describe(why)})`;
    return new SessionStoreUnavailableError(
      `session backend "${this.name}" failed to ${operation}: ${message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * `work`, or a rejection ("no answer within N ms") once `timeoutMs` has passed. The work itself is abandoned,
 * not cancelled. The timer does not keep the process alive.
 */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (error) {
    work.catch(() => {}); // an abandoned call that fails later is not an unhandled rejection
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Keyv's `{ value, expires }` envelope read without Keyv, for the default serializer: a string value not
 * starting with ":" is plain JSON, which JSON.parse reads without Keyv's per-string reviver and async layers.
 * Undefined for anything else (Keyv reads that), synchronously: no promise on the usual path.
 */
function plainEnvelopeOf(stored: string): { value: string; expires?: unknown } | undefined {
  let data: { value?: unknown; expires?: unknown } | null;
  try {
    data = JSON.parse(stored) as { value?: unknown; expires?: unknown } | null;
  } catch {
    return undefined;
  }
  return typeof data?.value === "string" && !data.value.startsWith(":")
    ? (data as { value: string; expires?: unknown })
    : undefined;
}

const envelope = (value: string, expires: number) =>
  `{"value":${JSON.stringify(value)},"expires":${expires}}`;

/** Whether `keyv` stores `{ value, expires }` as envelope() does (its default serializer, no compression). */
function writesPlainEnvelope(keyv: Keyv): boolean {
  if (keyv.opts.compression !== undefined || typeof keyv.serialize !== "function") return false;
  const probe = { value: 'em1:a"b\\c', expires: 1234567890123 };
  try {
    return keyv.serialize(probe) === envelope(probe.value, probe.expires);
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(describe).join("; ");
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
