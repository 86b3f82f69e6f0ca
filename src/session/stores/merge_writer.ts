import { setTimeout as sleep } from "node:timers/promises";
import { SessionConflictError } from "../errors.js";
import type { Changes, SessionRecord } from "../record.js";
import type { Versioned, WriteOf } from "./backend.js";
import type { HotKey } from "./hot_keys.js";
import { type LoadedSnapshot, mergeRecord } from "./merge.js";

// How the merges of requests that loaded a record reach the persistence (server_store.ts decides which
// merges go together and what a write is): onto what this process last wrote, or onto what its request read,
// or onto a fresh read, with compare-and-set retries only where another process wrote in between.

/** What the writer needs of its store: the persistence's reads, the codec, the expiry rule. */
export interface MergeWriterParts {
  /** The backend can compare-and-set. */
  cas: boolean;
  /** Compare-and-set attempts before SessionConflictError. */
  maxAttempts: number;
  fetch(key: string): Promise<Versioned | undefined>;
  /** The live record `stored` holds; undefined when unreadable or expired. */
  live(stored: string, now: number): { record: SessionRecord } | undefined;
  /** Encodes a record, throwing SessionOverflowError past the persistence's limit. */
  encode(record: SessionRecord, expiresAt: number): string;
  /** The expiry of `merged`, given the request's own record and expiry. */
  expiryOf(merged: SessionRecord, mine: SessionRecord, expiresAt: number, now: number): number;
}

export class MergeWriter {
  readonly #parts: MergeWriterParts;

  constructor(parts: MergeWriterParts) {
    this.#parts = parts;
  }

  /**
   * With compare-and-set, the first attempt needs no read: the merges go onto the record this process last
   * wrote under the key, guarded by its version (a session many requests of this process write: the last
   * write is its own), or, when it knows none, the first merge's record is written guarded by the version
   * its request read. Only a write of another process in between makes the guard fail; then the record is
   * read again and the merges are made onto it, after a short random pause that spreads concurrent writers;
   * after maxAttempts, 409. Without compare-and-set, one attempt: a fresh read, the merges, one write.
   */
  write(key: string, hot: HotKey, jobs: Merge[], write: GuardedWrite): Promise<boolean> {
    try {
      if (hot.written === null) return Promise.resolve(false); // this process deleted it: destroy wins
      if (!this.#parts.cas) return this.#mergeAndWrite(key, hot, jobs, write, 1);
      const first = jobs[0]!;
      const now = jobs[jobs.length - 1]!.now;
      const written = hot.written;
      // The first merge's request read what this process last wrote (the usual request of a session):
      // its own record is that write with its changes, so it needs no merging.
      const readLatest = first.loaded !== undefined && first.loaded.data === written?.version;
      let version: string;
      let merged: { record: SessionRecord; expiresAt: number };
      if (!readLatest && written !== undefined && written.expiresAt > now) {
        version = written.version;
        merged = this.#fold(written.record, jobs, 0, written.expiresAt);
      } else if (first.loaded !== undefined) {
        version = first.loaded.data;
        merged = this.#fold(first.record, jobs, 1, first.expiresAt);
      } else {
        return this.#mergeAndWrite(key, hot, jobs, write, 1);
      }
      const value = this.#parts.encode(merged.record, merged.expiresAt);
      const of = { record: merged.record, expiresAt: merged.expiresAt, now };
      return write(version, value, ttlOf(merged.expiresAt, now), of).then(
        (ok) => ok || this.#mergeAndWrite(key, hot, jobs, write, 2),
      );
    } catch (error) {
      return Promise.reject(error); // an encoding over the limit: a rejection like any other failure
    }
  }

  /** Attempts `first` to maxAttempts (1 without compare-and-set): read the record, merge onto it, write. */
  async #mergeAndWrite(
    key: string,
    hot: HotKey,
    jobs: Merge[],
    write: GuardedWrite,
    first: number,
  ): Promise<boolean> {
    const now = jobs[jobs.length - 1]!.now;
    const attempts = this.#parts.cas ? this.#parts.maxAttempts : 1;
    for (let attempt = first; attempt <= attempts; attempt++) {
      // After a failed guarded write: a pause that grows with the attempts, so racing writers spread out.
      if (attempt > 1) await sleep(Math.random() * Math.min(2 ** (attempt - 1), 50));
      const current = await this.#current(key, now);
      if (!current) {
        hot.written = undefined;
        return false;
      }
      const next = this.#fold(current.record, jobs, 0, 0);
      const value = this.#parts.encode(next.record, next.expiresAt);
      const of = { record: next.record, expiresAt: next.expiresAt, now };
      if (await write(current.version, value, ttlOf(next.expiresAt, now), of)) return true;
    }
    throw new SessionConflictError(
      `session changed by concurrent requests ${this.#parts.maxAttempts} times while this request saved it; nothing was written, try again`,
    );
  }

  /** The merges `jobs[from..]` made in order onto `base`, as the requests would have been one by one. */
  #fold(base: SessionRecord, jobs: Merge[], from: number, baseExpiresAt: number) {
    let record = base;
    let expiresAt = baseExpiresAt;
    for (let i = from; i < jobs.length; i++) {
      const job = jobs[i]!;
      // The first merge copies the base (never changed: it may be what this process knows is stored); the
      // rest change that copy, so a group of many merges costs one copy of the data, not one each.
      record = mergeRecord(record, job.record, job.changes, job.loaded, i > from);
      expiresAt = this.#parts.expiryOf(record, job.record, job.expiresAt, job.now);
    }
    return { record, expiresAt };
  }

  /** The record as stored now, decoded; undefined when it is gone, unreadable or expired (all: not brought back). */
  async #current(key: string, now: number): Promise<{ version: string; record: SessionRecord } | undefined> {
    const stored = await this.#parts.fetch(key);
    const live = stored && this.#parts.live(stored.value, now);
    return stored && live ? { version: stored.version, record: live.record } : undefined;
  }
}

/** A write guarded by the version read (compare-and-set), or a plain write that answers true. */
export type GuardedWrite = (version: string, value: string, ttlMs: number, of: WriteOf) => Promise<boolean>;

/** One request's save of a record it loaded: its changes, and what it loaded the record as. */
export interface Merge {
  record: SessionRecord;
  expiresAt: number;
  now: number;
  changes: Changes;
  /** What the record was loaded as (its version, the parts merged whole), when this request loaded it. */
  loaded: LoadedSnapshot | undefined;
}

/**
 * What a guarded write answered, as written or not; when the backend said which version it made, the write
 * is remembered as the one to merge the key's next writes onto.
 */
export function remember(
  hot: HotKey,
  answer: boolean | string,
  record: SessionRecord,
  expiresAt: number,
): boolean {
  if (answer === false) return false;
  hot.written = typeof answer === "string" ? { version: answer, record, expiresAt } : undefined;
  return true;
}

export function ttlOf(expiresAt: number, now: number): number {
  return Math.max(1000, expiresAt - now);
}
