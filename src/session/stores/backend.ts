import type { SessionRecord } from "../record.js";

/**
 * What a write stores, for a persistence that keeps columns beside the value (the `database` store's
 * user_id, expires_at and updated_at), as Django's create_model_instance is the one hook for them. A
 * key-value backend ignores it.
 */
export interface WriteOf {
  record: SessionRecord;
  expiresAt: number;
  now: number;
  /** The key is new (a new session, or a new id): nothing is stored under it yet, so a plain insert. */
  fresh?: boolean;
}

/**
 * The raw key-value persistence under a server-side store (Redis, memcached, SQL tables via Keyv).
 * Keys arrive already hashed (`2::` + sha256 hex of the public id) and values already encoded and
 * encrypted: a backend stores strings and nothing else. Every method either does what it says or
 * throws; none may report success for a write that did not happen, and none may wait without bound.
 */
export interface Backend {
  /** The stored value, or undefined when there is none (or it expired in the backend). */
  get(key: string): Promise<string | undefined>;
  /** Stores `value`; the backend may drop it after `ttlMs` (space reclamation only: expiry is checked on read). */
  set(key: string, value: string, ttlMs: number, of?: WriteOf): Promise<void>;
  /**
   * Removes `key`; removing a missing key is not an error. May answer whether something was there (a hint
   * only: not every store can tell atomically).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: backends written before the hint answer void
  delete(key: string): Promise<boolean | void>;
  /**
   * Optional, with compareAndSet: the value and its version, an opaque string that changes on every write
   * (for Redis, the exact bytes stored). Undefined when there is none.
   */
  getVersioned?(key: string): Promise<Versioned | undefined>;
  /**
   * Optional, atomic: stores `next` under `key` only if the key still holds version `expected` (from
   * getVersioned); false when it changed or is gone (a deleted key is never brought back). When written:
   * true, or better the version the key now holds, which lets the store guard its next write of the key
   * without reading it first (a session many requests of one process write).
   */
  compareAndSet?(
    key: string,
    expected: string,
    next: string,
    ttlMs: number,
    of?: WriteOf,
  ): Promise<boolean | string>;
  /**
   * Optional, atomic: if `from` still holds version `expected`, deletes it and stores `next` under `to`
   * (cycleKey); false, with nothing changed, otherwise.
   */
  compareAndMove?(
    from: string,
    expected: string,
    to: string,
    next: string,
    ttlMs: number,
    of?: WriteOf,
  ): Promise<boolean>;
  /** Closes connections; later calls may throw. */
  close(): Promise<void>;
}

/** A stored value with its version (see Backend.getVersioned). */
export interface Versioned {
  value: string;
  version: string;
}
