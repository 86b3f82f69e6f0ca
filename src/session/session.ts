import { inspect } from "node:util";
import { newCsrfSecret } from "./csrf_token.js";
import { InvalidSessionValueError } from "./errors.js";
import { type Changes, emptyRecord, RESERVED_KEY, type SessionRecord } from "./record.js";
import type { SessionValue } from "./session_data.js";

/** What the middleware and the flash may see of a session: nothing a handler should touch. */
export interface SessionInternals {
  /** Loaded at all (read or written) during this request. */
  readonly loaded: boolean;
  readonly record: SessionRecord;
  /** cycleKey() was called: persist under a new id, destroy the old record. */
  readonly cycled: boolean;
  /** flush() was called: destroy the old record. */
  readonly flushed: boolean;
  /** Replaces the stored flash; marks the session modified only when it changes. */
  setFlash(next: Map<string, string>): void;
  /** What this request changed, for stores that merge changes onto the current record. */
  readonly changes: Changes;
  /** The id a loaded record was found under (server-side stores). */
  setId(id: string): void;
  /** The id to save under: the current one, or a new one for a new (or flushed) session. */
  ensureId(): string | undefined;
  /** The session's CSRF secret, made (and the session marked modified) on first use. */
  csrfSecret(): string;
}

/** The changes of a session that changed no key (shared, never written to). */
const NO_CHANGES: ReadonlyMap<string, string | undefined> = new Map();

/** Friend access for the middleware and the flash, assigned in Session's static block. */
export let internals: (session: Session) => SessionInternals;

/**
 * The session of one request: a string-valued, hash-like store (Marten's `session`, Rack's SessionHash).
 * It loads lazily on first use, so a request that never touches it costs nothing, and it tracks whether it
 * was read or changed so the middleware can decide what to persist. It owns data and change tracking;
 * persistence belongs to the store and the commit decision to the middleware.
 */
export class Session implements Iterable<[string, string]> {
  #load: (() => SessionRecord) | undefined;
  #record: SessionRecord | undefined;
  #modified = false;
  #cycled = false;
  #flushed = false;
  #id: string | undefined;
  /** Keys this request set (value) or deleted (undefined), after `clear()` if #cleared. */
  #changes: Map<string, string | undefined> | undefined; // made by the first change: most sessions only read
  #cleared = false;
  readonly #now: () => number;
  readonly #newId: (() => string) | undefined;

  /** This session's friend view, made on first use (most requests need it once or twice). */
  #internals: SessionInternals | undefined;

  static {
    // A class, not an object literal per call: accessors in a literal go through V8's slow path, and the
    // middleware asks for internals on every request. Being declared inside Session, it reads its #fields.
    class Internals implements SessionInternals {
      readonly #session: Session;
      constructor(session: Session) {
        this.#session = session;
      }
      get loaded() {
        return this.#session.#record !== undefined;
      }
      get record() {
        return this.#session.#data;
      }
      get cycled() {
        return this.#session.#cycled;
      }
      get flushed() {
        return this.#session.#flushed;
      }
      setFlash(next: Map<string, string>) {
        const record = this.#session.#data;
        if (sameEntries(record.flash, next)) return;
        record.flash = next;
        this.#session.#modified = true;
      }
      get changes() {
        return { data: this.#session.#changes ?? NO_CHANGES, cleared: this.#session.#cleared };
      }
      setId(id: string) {
        this.#session.#id = id;
      }
      ensureId() {
        const session = this.#session;
        if (session.#newId) session.#id ??= session.#newId();
        return session.#id;
      }
      csrfSecret() {
        const session = this.#session;
        const record = session.#data;
        if (record.csrf === undefined) {
          record.csrf = newCsrfSecret();
          session.#changed();
        }
        return record.csrf;
      }
    }
    internals = (session) => {
      session.#internals ??= new Internals(session);
      return session.#internals;
    };
  }

  /**
   * @param load reads the stored record (or an empty one) on first use
   * @param newId makes session ids, for stores that use them; without it `id` stays undefined
   */
  constructor(load: () => SessionRecord, now: () => number = Date.now, newId?: () => string) {
    this.#load = load;
    this.#now = now;
    this.#newId = newId;
  }

  get #data(): SessionRecord {
    if (this.#record === undefined) {
      this.#record = this.#load!();
      this.#load = undefined;
    }
    return this.#record;
  }

  /** The public session id; server-side stores only, `undefined` until one exists (a new session gets one when saved). */
  get id(): string | undefined {
    if (!this.#newId) return undefined;
    this.#data; // the id is the loaded record's
    return this.#id;
  }

  /** True once anything was read or written during this request. */
  get accessed(): boolean {
    return this.#record !== undefined;
  }

  /** True when this request changed what must be stored. */
  get modified(): boolean {
    return this.#modified;
  }

  get<K extends string>(key: K): SessionValue<K> | undefined {
    return this.#data.data.get(key) as SessionValue<K> | undefined;
  }

  set<K extends string>(key: K, value: SessionValue<K>): this {
    checkKey(key);
    if (typeof value !== "string") {
      throw new InvalidSessionValueError(
        `session value for ${JSON.stringify(key)} must be a string, got ${typeName(value)}; ` +
          "serialise it first (String(n), JSON.stringify(obj))",
      );
    }
    if (LONE_SURROGATE.test(value)) {
      throw new InvalidSessionValueError(
        `session value for ${JSON.stringify(key)} holds a lone UTF-16 surrogate, which no store keeps ` +
          "exactly (UTF-8 stores replace it with U+FFFD)",
      );
    }
    const data = this.#data.data;
    if (data.get(key) !== value) {
      data.set(key, value);
      this.#noteChange(key, value);
    }
    return this;
  }

  /** Removes `key` and returns the value it had. */
  delete<K extends string>(key: K): SessionValue<K> | undefined {
    const data = this.#data.data;
    const old = data.get(key);
    if (old !== undefined) {
      data.delete(key);
      this.#noteChange(key, undefined);
    }
    return old as SessionValue<K> | undefined;
  }

  has(key: string): boolean {
    return this.#data.data.has(key);
  }

  /** The value of `key`, or `fallback` (called with the key if it is a function) when there is none. */
  fetch<K extends string, T>(key: K, fallback: T | ((key: K) => T)): SessionValue<K> | T {
    const value = this.#data.data.get(key) as SessionValue<K> | undefined;
    if (value !== undefined) return value;
    return typeof fallback === "function" ? (fallback as (key: K) => T)(key) : fallback;
  }

  isEmpty(): boolean {
    return this.#data.data.size === 0;
  }

  get size(): number {
    return this.#data.data.size;
  }

  keys(): IterableIterator<string> {
    return this.#data.data.keys();
  }

  values(): IterableIterator<string> {
    return this.#data.data.values();
  }

  entries(): IterableIterator<[string, string]> {
    return this.#data.data.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** Removes every user key (the flash stays; flush() drops everything). */
  clear(): void {
    const data = this.#data.data;
    if (data.size === 0) return;
    data.clear();
    this.#changes?.clear();
    this.#cleared = true;
    this.#changed();
  }

  /** The user's keys as a plain object (`this.json(this.session)`); the flash and Stoat's own data are not in it. */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.#data.data);
  }

  /**
   * Keeps the data under a new session id and destroys the old record. Call it on sign-in and on any
   * privilege change, so an id planted before sign-in is worthless after it (session fixation).
   */
  cycleKey(): void {
    // Loaded first: the data must move to the new id. Tokens handed out before sign-in die with the old id.
    this.#data.csrf = undefined;
    if (this.#newId) this.#id = this.#newId();
    this.#cycled = true;
    this.#modified = true;
  }

  /** Drops all data (flash included) and destroys the record; a later write starts a new session (sign-out). */
  flush(): void {
    this.#load = undefined;
    this.#record = emptyRecord(this.#now());
    this.#id = undefined; // a write after sign-out starts a session under a new id
    this.#flushed = true;
    this.#cycled = false;
    this.#modified = true;
  }

  /** Expires this session after `seconds` of inactivity instead of the configured `expireAfter`. */
  expireIn(seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_EXPIRE_IN) {
      throw new InvalidSessionValueError(
        `expireIn takes a whole number of seconds from 1 to 2^31, got ${inspect(seconds)}`,
      );
    }
    const record = this.#data;
    record.maxAge = seconds;
    record.browserSession = false;
    this.#changed();
  }

  /** The cookie ends with the browser session (no Expires); the server still enforces the idle expiry. */
  expireAtBrowserClose(): void {
    const record = this.#data;
    record.browserSession = true;
    record.maxAge = undefined;
    this.#changed();
  }

  /** Notes `key`'s new value (undefined: deleted) for merging stores, and marks the change. */
  #noteChange(key: string, value: string | undefined): void {
    if (this.#changes === undefined) this.#changes = new Map();
    this.#changes.set(key, value);
    this.#changed();
  }

  /** Marks a change; a new session of an id-based store gets its id with its first change. */
  #changed(): void {
    this.#modified = true;
    if (this.#newId) this.#id ??= this.#newId();
  }

  [inspect.custom](): string {
    // Values stay out of logs: they are often credentials or personal data.
    return this.#record === undefined
      ? "Session <not loaded>"
      : `Session { keys: ${inspect([...this.keys()])} }`;
  }
}

/**
 * The longest expireIn: 2^31 seconds (68 years) still makes a valid cookie date and database timestamp, and
 * stays inside every store's TTL range; a larger one would reach a store as an invalid date or TTL.
 */
const MAX_EXPIRE_IN = 2 ** 31;

/**
 * A surrogate code unit that is not half of a pair (matched per code point under the u flag). UTF-8 cannot
 * encode it: msgpack and the SQL drivers would silently store U+FFFD instead, so set() refuses it.
 */
const LONE_SURROGATE = /\p{Cs}/u;

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== "string") {
    throw new InvalidSessionValueError(`session keys must be strings, got ${typeName(key)}`);
  }
  if (LONE_SURROGATE.test(key)) {
    throw new InvalidSessionValueError(
      `session key ${JSON.stringify(key)} holds a lone UTF-16 surrogate, which no store keeps exactly`,
    );
  }
  if (key === RESERVED_KEY) {
    throw new InvalidSessionValueError(`session key ${JSON.stringify(key)} is reserved by Stoat`);
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") {
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    return name && name !== "Object" ? `object (${name})` : "object";
  }
  return typeof value;
}

function sameEntries(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}
