import type { Schema } from "../../app/validation.js";
import type { SuspiciousReason } from "../events.js";
import type { ResolvedSessionOptions } from "../options.js";
import type { SessionRecord } from "../record.js";

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
 * holds: the whole sealed record for the cookie store, an id for server-side stores.
 */
export interface SessionStore {
  readonly name: string;
  /** Reads the record `cookieValue` names. Never throws on hostile input: it answers `rejected`. */
  load(cookieValue: string, now: number): LoadResult;
  /** Persists `record` to expire at `expiresAt`; returns the cookie value to send. */
  save(record: SessionRecord, expiresAt: number, previous: string | undefined): string | Promise<string>;
  /** Extends an unchanged record's expiry; returns the cookie value to send. */
  touch(record: SessionRecord, expiresAt: number, cookieValue: string): string | Promise<string>;
  /** Removes the record; removing one that is gone is not an error. */
  destroy(cookieValue: string): void | Promise<void>;
}

/** What the registry knows of a store name: its own options and how to build it. */
export interface StoreFactory {
  /** Options this store takes beyond the common ones (DESIGN.md section 3). */
  readonly rules: Schema;
  create(
    options: ResolvedSessionOptions,
    storeOptions: Record<string, unknown>,
  ): SessionStore | Promise<SessionStore>;
}
