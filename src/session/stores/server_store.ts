import { SessionError, SessionOverflowError, SessionStoreUnavailableError } from "../errors.js";
import { channels } from "../events.js";
import { isWellFormedId, privateId } from "../ids.js";
import { copyRecord, type SessionRecord } from "../record.js";
import { RecordSealer, type RecordSealerOptions } from "../sealing/record_sealer.js";
import type { Backend, WriteOf } from "./backend.js";
import { type HotKey, HotKeys, type SharedRead } from "./hot_keys.js";
import { loadedSnapshot, rememberLoad } from "./loaded_snapshot.js";
import { snapshotOf } from "./merge.js";
import { type GuardedWrite, type Merge, MergeWriter, remember, ttlOf } from "./merge_writer.js";
import type { SessionsAdmin } from "./sessions_admin.js";
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
 * lands inside that read-to-write window (docs/stores.md, Concurrency).
 *
 * Hot sessions. Within the process, one key's writes take turns (hot_keys.ts); the merges that queue up
 * behind a write go out as one, onto the record that write stored and guarded by its version, so a session
 * many concurrent requests write costs one guarded write per burst and no miss (merge_writer.ts).
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
  /** This process's writes in progress, by key, and what it last wrote (hot_keys.ts). */
  readonly #hot = new HotKeys<Merge>(
    (key, hot, jobs) => this.#writeGroup(key, hot, jobs),
    (error) => error instanceof SessionOverflowError,
  );
  readonly #writer: MergeWriter;

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
    this.#writer = new MergeWriter({
      cas: this.#cas,
      maxAttempts: this.#maxAttempts,
      fetch: (key) => this.#fetch(key),
      live: (stored, now) => this.#sealer.live(stored, now),
      encode: (record, expiresAt) => this.#encode(record, expiresAt),
      expiryOf: (merged, mine, expiresAt, now) => this.#expiryOf(merged, mine, expiresAt, now),
    });
  }

  /** The backend can compare-and-set (decided once: a backend's methods do not come and go). */
  readonly #cas: boolean;
  /** And move a record in one guarded step (cycleKey). */
  readonly #atomicMove: boolean;

  load(cookieValue: string, now: number): Promise<LoadResult> {
    if (!isWellFormedId(cookieValue)) return Promise.resolve({ rejected: "malformed" });
    const key = privateId(cookieValue);
    if (channels.read.hasSubscribers) channels.read.publish({ sid: key, store: this.name });
    return this.#hot
      .read(key, () => this.#fetch(key))
      .then((stored) => {
        if (stored === undefined) return undefined; // strict: an unknown id is answered with a fresh one
        const opened = this.#openShared(stored, now);
        if ("record" in opened) rememberLoad(this, opened.record, snapshotOf(stored.version, opened.record));
        return opened;
      });
  }

  /**
   * A read shared by several loads is decoded once; each load but the last gets a copy of the record, since
   * a request changes its record in place (a copy of two maps costs far less than decoding them again).
   */
  #openShared(stored: SharedRead & { opened?: Opened }, now: number): Opened {
    stored.opened ??= this.#sealer.open(stored.value, now);
    const opened = stored.opened;
    if (--stored.readers === 0 || "rejected" in opened) return opened;
    if (opened.expiresAt <= now) return { rejected: "expired" };
    return { record: copyRecord(opened.record), expiresAt: opened.expiresAt };
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
        const job = this.#job(record, expiresAt, now, context);
        return this.#hot
          .alone(from, (hot) => this.#move(from, hot, key, job))
          .then((moved) => {
            if (!moved) return undefined;
            if (channels.delete.hasSubscribers) channels.delete.publish({ sid: from, store: this.name });
            if (channels.write.hasSubscribers) channels.write.publish({ sid: key, store: this.name });
            return id;
          });
      }
    }
    const written = context?.existing
      ? this.#hot.merge(key, this.#job(record, expiresAt, now, context))
      : this.#replace(key, record, expiresAt, now, context);
    return written.then((ok) => {
      if (!ok) return undefined; // destroyed meanwhile: destroy wins
      if (channels.write.hasSubscribers) channels.write.publish({ sid: key, store: this.name });
      return id;
    });
  }

  /**
   * A record stored whatever is there: a new session under a new id (nothing to wait for), or, from a caller
   * other than the middleware (no context), a replacement that takes its turn behind this key's writes.
   */
  #replace(
    key: string,
    record: SessionRecord,
    expiresAt: number,
    now: number,
    context: SaveContext | undefined,
  ): Promise<boolean> {
    const value = this.#encode(record, expiresAt);
    const of: WriteOf = { record, expiresAt, now, fresh: context !== undefined };
    const set = () => this.#orUnavailable("write", this.#backend.set(key, value, ttlOf(expiresAt, now), of));
    if (this.#hot.peek(key) === undefined) return set().then(() => true);
    return this.#hot.alone(key, (hot) =>
      set().then(() => {
        hot.written = undefined; // a plain write does not say what version it made
        return true;
      }),
    );
  }

  /**
   * Moves the expiry of a record this request did not change, keeping what is stored now (another request
   * may have changed it); a record destroyed meanwhile is not brought back. With compare-and-set it is one
   * write guarded by what this request read, skipped when it would fail: whoever wrote meanwhile (this
   * process, known without asking, or another) moved the expiry already, and a touch is never worth a retry
   * or a 409.
   */
  async touch(record: SessionRecord, expiresAt: number, cookieValue: string, now: number): Promise<string> {
    if (!isWellFormedId(cookieValue)) return cookieValue;
    const key = privateId(cookieValue);
    const loaded = this.#cas ? loadedSnapshot(this, record) : undefined;
    const written = loaded
      ? await this.#hot.alone(key, (hot) => {
          if (hot.written === null || (hot.written && hot.written.version !== loaded.data))
            return NOT_WRITTEN;
          const value = this.#encode(record, expiresAt);
          const of = { record, expiresAt, now };
          const write = this.#backend.compareAndSet!(key, loaded.data, value, ttlOf(expiresAt, now), of);
          return this.#orUnavailable("write", write, (ok) => remember(hot, ok, record, expiresAt));
        })
      : await this.#hot.merge(
          key,
          this.#job(record, expiresAt, now, { existing: true, changes: NO_CHANGES }),
        );
    if (written && channels.write.hasSubscribers) channels.write.publish({ sid: key, store: this.name });
    return cookieValue;
  }

  async destroy(cookieValue: string): Promise<void> {
    if (!isWellFormedId(cookieValue)) return;
    const key = privateId(cookieValue);
    await this.#hot.alone(key, (hot) =>
      this.#orUnavailable("delete", this.#backend.delete(key), () => {
        hot.written = null; // what this process knows: nothing more is written under this id
      }),
    );
    if (channels.delete.hasSubscribers) channels.delete.publish({ sid: key, store: this.name });
  }

  close(): Promise<void> {
    return this.#backend.close();
  }

  #job(record: SessionRecord, expiresAt: number, now: number, context: SaveContext): Merge {
    return { record, expiresAt, now, changes: context.changes, loaded: loadedSnapshot(this, record) };
  }

  /**
   * Writes the merges that queued up together on one key as one guarded write, and answers each with its
   * result (group commit). A group whose combined record is over the size limit is written one merge at a
   * time instead, so only the merge that overflows is refused.
   */
  #writeGroup(key: string, hot: HotKey, jobs: Merge[]): Promise<boolean> {
    const write: GuardedWrite = this.#cas
      ? (version, value, ttl, of) =>
          this.#orUnavailable("write", this.#backend.compareAndSet!(key, version, value, ttl, of), (ok) =>
            remember(hot, ok, of.record, of.expiresAt),
          )
      : (_version, value, ttl, of) =>
          this.#orUnavailable("write", this.#backend.set(key, value, ttl, of), () => true);
    return this.#writer.write(key, hot, jobs, write);
  }

  /**
   * cycleKey: the record leaves `from` and arrives under `to`, merged onto what `from` holds now. With
   * compare-and-set that is one atomic step, so of two parallel cycles exactly one wins; the other finds
   * `from` gone and answers undefined (nothing written). Without, the loser is told by the delete when the
   * backend can say that nothing was there (memory, memcache, the `database` table); the Keyv SQL adapters
   * select then delete, so two cycles racing inside that window may both keep a new id.
   */
  #move(from: string, hot: HotKey, to: string, job: Merge): Promise<boolean> {
    const write: GuardedWrite = this.#atomicMove
      ? (version, value, ttl, of) =>
          this.#orUnavailable("write", this.#backend.compareAndMove!(from, version, to, value, ttl, of))
      : async (_version, value, ttl, of) => {
          if ((await this.#orUnavailable("delete", this.#backend.delete(from))) === false) return false;
          await this.#orUnavailable("write", this.#backend.set(to, value, ttl, { ...of, fresh: true }));
          return true;
        };
    return this.#writer.write(from, hot, [job], (version, value, ttl, of) =>
      write(version, value, ttl, of).then((moved) => {
        if (moved) hot.written = null; // the record left this id for good
        return moved;
      }),
    );
  }

  #fetch(key: string): Promise<{ value: string; version: string } | undefined> {
    const backend = this.#backend;
    if (this.#cas) return this.#orUnavailable("read", backend.getVersioned!(key));
    return this.#orUnavailable("read", backend.get(key), (value) =>
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
  #orUnavailable<T, R = T>(what: string, operation: Promise<T>, then?: (value: T) => R): Promise<R> {
    // A rejection handler, not an async wrapper: every store call is on the request path, and an async
    // function with an await is two promises where this is one; `then` rides on the same step.
    return operation.then(then, (err: unknown) => {
      if (err instanceof SessionError) throw err;
      throw new SessionStoreUnavailableError(
        `session store "${this.name}" failed to ${what}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }) as Promise<R>;
  }
}

const NOT_WRITTEN = Promise.resolve(false);

/** What a load opens a stored value to. */
type Opened = ReturnType<RecordSealer["open"]>;
