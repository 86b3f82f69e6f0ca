import { setTimeout as sleep } from "node:timers/promises";
import {
  SessionConflictError,
  SessionError,
  SessionOverflowError,
  SessionStoreUnavailableError,
} from "../errors.js";
import { channels } from "../events.js";
import { isWellFormedId, privateId } from "../ids.js";
import type { SessionRecord } from "../record.js";
import { RecordSealer, type RecordSealerOptions } from "../sealing/record_sealer.js";
import type { Backend, WriteOf } from "./backend.js";
import type { SessionsAdmin } from "./database/sessions_admin.js";
import { loadedSnapshot, rememberLoad } from "./loaded_snapshot.js";
import { type LoadedSnapshot, mergeRecord, snapshotOf } from "./merge.js";
import type { LoadResult, SaveContext, SessionStore } from "./store.js";

export interface ServerStoreOptions extends RecordSealerOptions {
  /** The expiry of a merged record whose per-session expiry came from the stored record (expiryOf). */
  expiry?: (record: SessionRecord, now: number) => number;
  /** Compare-and-set attempts before SessionConflictError, default 20. */
  maxAttempts?: number;
  /** The largest encoded record the persistence holds, and the option that sets it (SessionOverflowError). */
  limit?: { bytes: number; option: string; hint?: string };
  /**
   * Whether cycleKey() may move the record in one save (default true): false for a persistence that can
   * neither move atomically nor tell whether its delete removed anything, so the middleware destroys first.
   */
  movesOnCycle?: boolean;
  /** Listing and revoking a user's sessions, where the persistence can query them (`app.sessions`). */
  admin?: SessionsAdmin;
}

const NO_CHANGES = { data: new Map<string, string | undefined>(), cleared: false };

/**
 * The one core of every id-based store (Rack's abstract id store), the Keyv stores and the `database`
 * table alike: the cookie holds a public id, the backend only `2::` + its SHA-256; records are serialised,
 * encrypted at rest, carry their own expiry, are checked on read, and are bounded in size. A persistence
 * supplies only raw operations (backend.ts: get, set, delete, and optionally a versioned read,
 * compare-and-set and move). A backend that fails or stalls (past its own time bound) becomes
 * SessionStoreUnavailableError, never a hang or a silent success.
 *
 * Concurrency. A save of a record this request loaded writes only the keys it changed, merged onto the
 * record as stored now (the flash and expireIn whole, as in the database store: merge.ts), and never brings
 * back a record destroyed meanwhile (save answers undefined). With a backend that can compare-and-set
 * (redis: a Lua script on the exact stored string, which a fresh IV makes a version), the write is guarded
 * by what this request read, then re-read, re-merged and retried with a short random pause, then 409.
 * Other backends merge onto a read made right before the write: an update is lost only if another write
 * lands inside that read-to-write window (README, Concurrency).
 */
export class ServerStore implements SessionStore {
  readonly name: string;
  readonly usesIds = true;
  readonly movesOnCycle: boolean;
  readonly admin: SessionsAdmin | undefined;
  readonly #backend: Backend;
  readonly #sealer: RecordSealer;
  readonly #expiry: ServerStoreOptions["expiry"];
  readonly #maxAttempts: number;
  readonly #limit: ServerStoreOptions["limit"];

  constructor(name: string, backend: Backend, options: ServerStoreOptions) {
    this.name = name;
    this.#backend = backend;
    this.#sealer = new RecordSealer(options);
    this.#expiry = options.expiry;
    this.#maxAttempts = options.maxAttempts ?? 20;
    this.#limit = options.limit;
    this.movesOnCycle = options.movesOnCycle ?? true;
    this.admin = options.admin;
    this.#cas = typeof backend.getVersioned === "function" && typeof backend.compareAndSet === "function";
    this.#atomicMove = this.#cas && typeof backend.compareAndMove === "function";
  }

  /** The backend can compare-and-set (decided once: a backend's methods do not come and go). */
  readonly #cas: boolean;
  /** And move a record in one guarded step (cycleKey). */
  readonly #atomicMove: boolean;

  load(cookieValue: string, now: number): Promise<LoadResult> {
    if (!isWellFormedId(cookieValue)) return Promise.resolve({ rejected: "malformed" });
    const key = privateId(cookieValue);
    if (channels.read.hasSubscribers) channels.read.publish({ sid: key, store: this.name });
    return this.#fetch(key).then((stored) => {
      if (stored === undefined) return undefined; // strict: an unknown id is answered with a fresh one
      const opened = this.#sealer.open(stored.value, now);
      if ("record" in opened) rememberLoad(this, opened.record, snapshotOf(stored.version, opened.record));
      return opened;
    });
  }

  save(
    record: SessionRecord,
    expiresAt: number,
    id: string | undefined,
    now: number,
    context?: SaveContext,
  ): Promise<string | undefined> {
    // Promise steps, not an async function (one write per request, each await a promise more); whatever
    // throws on the way still comes out as a rejection, as from an async function.
    try {
      return this.#save(record, expiresAt, id, now, context);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #save(
    record: SessionRecord,
    expiresAt: number,
    id: string | undefined,
    now: number,
    context: SaveContext | undefined,
  ): Promise<string | undefined> {
    if (id === undefined || !isWellFormedId(id))
      throw new TypeError("a server-side store saves under a session id");
    const key = privateId(id);
    if (context?.replacing !== undefined && isWellFormedId(context.replacing)) {
      const from = privateId(context.replacing);
      if (from !== key) {
        return this.#move(from, key, record, expiresAt, now, context).then((moved) => {
          if (!moved) return undefined;
          if (channels.delete.hasSubscribers) channels.delete.publish({ sid: from, store: this.name });
          if (channels.write.hasSubscribers) channels.write.publish({ sid: key, store: this.name });
          return id;
        });
      }
    }
    // A save the middleware did not describe (no context) replaces whatever is there; any other is new.
    const of: WriteOf = { record, expiresAt, now, fresh: context !== undefined };
    const written = context?.existing
      ? this.#merge(key, record, expiresAt, now, context)
      : this.#orUnavailable(
          "write",
          this.#backend.set(key, this.#encode(record, expiresAt), ttlOf(expiresAt, now), of),
        ).then(() => true);
    return written.then((ok) => {
      if (!ok) return undefined; // destroyed meanwhile: destroy wins
      if (channels.write.hasSubscribers) channels.write.publish({ sid: key, store: this.name });
      return id;
    });
  }

  /**
   * Moves the expiry of a record this request did not change, keeping what is stored now (another request
   * may have changed it); a record destroyed meanwhile is not brought back. With compare-and-set it is one
   * write guarded by what this request read, skipped when it fails: whoever wrote meanwhile moved the
   * expiry already, and a touch is never worth a retry or a 409.
   */
  async touch(record: SessionRecord, expiresAt: number, cookieValue: string, now: number): Promise<string> {
    if (!isWellFormedId(cookieValue)) return cookieValue;
    const key = privateId(cookieValue);
    const loaded = this.#cas ? loadedSnapshot(this, record) : undefined;
    const written = loaded
      ? await this.#orUnavailable(
          "write",
          this.#backend.compareAndSet!(
            key,
            loaded.data,
            this.#encode(record, expiresAt),
            ttlOf(expiresAt, now),
            {
              record,
              expiresAt,
              now,
            },
          ),
        )
      : await this.#merge(key, record, expiresAt, now, { existing: true, changes: NO_CHANGES });
    if (written && channels.write.hasSubscribers) channels.write.publish({ sid: key, store: this.name });
    return cookieValue;
  }

  async destroy(cookieValue: string): Promise<void> {
    if (!isWellFormedId(cookieValue)) return;
    const key = privateId(cookieValue);
    await this.#orUnavailable("delete", this.#backend.delete(key));
    if (channels.delete.hasSubscribers) channels.delete.publish({ sid: key, store: this.name });
  }

  close(): Promise<void> {
    return this.#backend.close();
  }

  /** This request's changes onto the stored record; false when it is gone (destroyed, expired, unreadable). */
  #merge(key: string, record: SessionRecord, expiresAt: number, now: number, context: SaveContext) {
    const write: GuardedWrite = this.#cas
      ? (version, value, ttl, of) =>
          this.#orUnavailable("write", this.#backend.compareAndSet!(key, version, value, ttl, of))
      : async (_version, value, ttl, of) => {
          await this.#orUnavailable("write", this.#backend.set(key, value, ttl, of));
          return true;
        };
    return this.#saveOptimistically(key, record, expiresAt, now, context, write);
  }

  /**
   * cycleKey: the record leaves `from` and arrives under `to`, merged onto what `from` holds now. With
   * compare-and-set that is one atomic step, so of two parallel cycles exactly one wins; the other finds
   * `from` gone and answers undefined (nothing written). Without, the loser is told by the delete when the
   * backend can say that nothing was there (memory, memcache, the `database` table); the Keyv SQL adapters
   * select then delete, so two cycles racing inside that window may both keep a new id.
   */
  #move(
    from: string,
    to: string,
    record: SessionRecord,
    expiresAt: number,
    now: number,
    context: SaveContext,
  ) {
    const write: GuardedWrite = this.#atomicMove
      ? (version, value, ttl, of) =>
          this.#orUnavailable("write", this.#backend.compareAndMove!(from, version, to, value, ttl, of))
      : async (_version, value, ttl, of) => {
          if ((await this.#orUnavailable("delete", this.#backend.delete(from))) === false) return false;
          await this.#orUnavailable("write", this.#backend.set(to, value, ttl, { ...of, fresh: true }));
          return true;
        };
    return this.#saveOptimistically(from, record, expiresAt, now, context, write);
  }

  /**
   * With compare-and-set, the first attempt writes this request's record guarded by the version it read:
   * when nobody wrote in between (the usual case), that is the whole save, in one promise step. When the
   * guard fails, the record is read again and the changes merged onto it, after a short random pause that
   * spreads concurrent writers; after maxAttempts, 409. Without, one attempt: a fresh read, merge, write.
   */
  #saveOptimistically(
    key: string,
    record: SessionRecord,
    expiresAt: number,
    now: number,
    context: SaveContext,
    write: GuardedWrite,
  ): Promise<boolean> {
    const save: PendingSave = {
      key,
      record,
      expiresAt,
      now,
      context,
      write,
      loaded: loadedSnapshot(this, record),
    };
    const version = this.#cas ? save.loaded?.data : undefined;
    if (version === undefined) return this.#mergeAndWrite(save, 1);
    const value = this.#encode(record, expiresAt);
    return write(version, value, ttlOf(expiresAt, now), { record, expiresAt, now }).then(
      (written) => written || this.#mergeAndWrite(save, 2),
    );
  }

  /** Attempts `first` to maxAttempts (1 without compare-and-set): read the record, merge onto it, write. */
  async #mergeAndWrite(save: PendingSave, first: number): Promise<boolean> {
    const { key, record, expiresAt, now, context, write, loaded } = save;
    const attempts = this.#cas ? this.#maxAttempts : 1;
    for (let attempt = first; attempt <= attempts; attempt++) {
      // After a failed guarded write: a pause that grows with the attempts, so racing writers spread out.
      if (attempt > 1) await sleep(Math.random() * Math.min(2 ** (attempt - 1), 50));
      const current = await this.#current(key, now);
      if (!current) return false;
      const next = mergeRecord(current.record, record, context.changes, loaded);
      const nextExpiry = this.#expiryOf(next, record, expiresAt, now);
      const value = this.#encode(next, nextExpiry);
      const of = { record: next, expiresAt: nextExpiry, now };
      if (await write(current.version, value, ttlOf(nextExpiry, now), of)) return true;
    }
    throw new SessionConflictError(
      `session changed by concurrent requests ${this.#maxAttempts} times while this request saved it; nothing was written, try again`,
    );
  }

  /** The record as stored now, decoded; undefined when it is gone, unreadable or expired (all: not brought back). */
  async #current(key: string, now: number): Promise<{ version: string; record: SessionRecord } | undefined> {
    const stored = await this.#fetch(key);
    const live = this.#sealer.live(stored?.value, now);
    return stored && live ? { version: stored.version, record: live.record } : undefined;
  }

  #fetch(key: string): Promise<{ value: string; version: string } | undefined> {
    const backend = this.#backend;
    if (this.#cas) return this.#orUnavailable("read", backend.getVersioned!(key));
    return this.#orUnavailable("read", backend.get(key)).then((value) =>
      value === undefined ? undefined : { value, version: value },
    );
  }

  /** The encoded record, checked against the persistence's limit before anything is written (never truncated). */
  #encode(record: SessionRecord, expiresAt: number): string {
    const value = this.#sealer.encode(record, expiresAt);
    const limit = this.#limit;
    if (limit !== undefined) {
      const size = Buffer.byteLength(value);
      if (size > limit.bytes) {
        throw new SessionOverflowError(
          `session data is ${size} bytes encoded, over the ${this.name} store's ${limit.option} (${limit.bytes}); ` +
            `nothing was written: store less in the session, or raise ${limit.option}${limit.hint ?? ""}`,
        );
      }
    }
    return value;
  }

  #expiryOf(merged: SessionRecord, mine: SessionRecord, expiresAt: number, now: number): number {
    const same =
      merged.maxAge === mine.maxAge && Boolean(merged.browserSession) === Boolean(mine.browserSession);
    return same || !this.#expiry ? expiresAt : this.#expiry(merged, now);
  }

  /**
   * Backends bound their own calls in time (the Backend contract; KeyvBackend does it per call). Here any
   * failure that is not already a SessionError becomes SessionStoreUnavailableError, so the middleware
   * answers 503.
   */
  #orUnavailable<T>(what: string, operation: Promise<T>): Promise<T> {
    // A rejection handler, not an async wrapper: every store call is on the request path, and an async
    // function with an await is two promises where this is one.
    return operation.then(undefined, (err: unknown) => {
      if (err instanceof SessionError) throw err;
      throw new SessionStoreUnavailableError(
        `session store "${this.name}" failed to ${what}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    });
  }
}

/** A write guarded by the version read (compare-and-set), or a plain write that answers true. */
type GuardedWrite = (version: string, value: string, ttlMs: number, of: WriteOf) => Promise<boolean>;

/** One save of a loaded record, as its attempts need it. */
interface PendingSave {
  key: string;
  record: SessionRecord;
  expiresAt: number;
  now: number;
  context: SaveContext;
  write: GuardedWrite;
  /** What the record was loaded as (its version, the parts merged whole), when this request loaded it. */
  loaded: LoadedSnapshot | undefined;
}

function ttlOf(expiresAt: number, now: number): number {
  return Math.max(1000, expiresAt - now);
}
