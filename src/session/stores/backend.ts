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
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Closes connections; later calls may throw. */
  close(): Promise<void>;
}
