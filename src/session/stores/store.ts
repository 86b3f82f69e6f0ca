import type { SuspiciousReason } from "../events.js";
import type { ResolvedSessionOptions } from "../options.js";
import type { Changes, SessionRecord } from "../record.js";
import type { Schema } from "../validation.js";
import type { SessionsAdmin } from "./sessions_admin.js";

/** A record found by `load`, with the expiry it was stored with (ms since the epoch). */
export interface Loaded {
  record: SessionRecord;
  expiresAt: number;
}

/** `undefined`: nothing stored under that value; `rejected`: the value was refused, and why. */
export type LoadResult = Loaded | { rejected: SuspiciousReason } | undefined;

/**
 * The hook boundary of Rack's abstract id store: a store persists, nothing more. It does not decide when to
 * write (the middleware does) nor own data or ids (the Session does). `cookieValue` is what the browser
 * holds: the whole sealed record for the cookie store, a public session id for server-side stores.
 */
export interface SessionStore {
  readonly name: string;
  /**
   * True for server-side stores: the cookie holds an id and loading is I/O, done before the handler runs
   * when a cookie came in. False (the cookie store): loading is computation, done on first use.
   */
  readonly usesIds?: boolean;
  /** Reads the record `cookieValue` names. Never throws on hostile input: it answers `rejected`. */
  load(cookieValue: string, now: number): LoadResult | Promise<LoadResult>;
  /**
   * Persists `record` (under `id`, for stores that use ids) to expire at `expiresAt`; returns the cookie value.
   * Stores that can merge use `context.changes` against the current stored record instead of writing the
   * whole record; `undefined` means the record this request updates was destroyed meanwhile and was not
   * brought back (destroy wins).
   */
  save(
    record: SessionRecord,
    expiresAt: number,
    id: string | undefined,
    now: number,
    context?: SaveContext,
  ): string | undefined | Promise<string | undefined>;
  /** Extends an unchanged record's expiry; returns the cookie value to send. */
  touch(record: SessionRecord, expiresAt: number, cookieValue: string, now: number): string | Promise<string>;
  /** Removes the record; removing one that is gone is not an error. */
  destroy(cookieValue: string): void | Promise<void>;
  /** Releases connections (Application.close calls it). */
  close?(): Promise<void>;
  /**
   * True when `save` with `context.replacing` (cycleKey) moves the record itself, atomically where it can:
   * the middleware then does not destroy the old record first, and a save that answers undefined (another
   * request already moved or destroyed it) leaves the cookie alone, so the browser keeps the winner's id.
   */
  readonly movesOnCycle?: boolean;
  /** Stores with a queryable table (the `database` store) offer `app.sessions`. */
  readonly admin?: SessionsAdmin;
}

/** What the middleware tells a store about a save. */
export interface SaveContext {
  /** The request updates a record it loaded (false: a new session, or a new id after cycleKey/flush). */
  existing: boolean;
  /** What the request changed in the data. */
  changes: Changes;
  /**
   * cycleKey() on a loaded record, for stores with `movesOnCycle`: the cookie value of the record this save
   * replaces. The store removes it and writes under the new id only if it is still there.
   */
  replacing?: string;
}

/** What the registry knows of a store name: its own options and how to build it. */
export interface StoreFactory {
  /** Options this store takes beyond the common ones (docs/stores.md). */
  readonly rules: Schema;
  create(
    options: ResolvedSessionOptions,
    storeOptions: Record<string, unknown>,
    app: { clock: () => number },
  ): SessionStore | Promise<SessionStore>;
}
