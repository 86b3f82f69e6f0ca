import type { SessionRecord } from "../record.js";
import type { Versioned } from "./backend.js";

// What one process knows of the sessions it is writing: per hashed id, the writes waiting for their turn,
// the record it last wrote there, and a read in flight. The server-side store core (server_store.ts) uses
// it so that a session many concurrent requests write (a page firing parallel fetches) costs one guarded
// write per burst instead of a failed compare-and-set, a pause and a re-read per request.

/** A write this process made: the value stored, as the version it now holds, and the record it encodes. */
export interface Written {
  version: string;
  record: SessionRecord;
  expiresAt: number;
}

/** One key as this process knows it. */
export interface HotKey {
  /** A write of the key is running; the next ones wait in `waiting`, in arrival order. */
  busy: boolean;
  waiting: Waiting<never>[];
  /** The last write this process made (undefined: none known; null: this process deleted the key). */
  written: Written | null | undefined;
  /** A read of the key in flight, shared by the loads that start while it runs. */
  reading: Promise<SharedRead | undefined> | undefined;
  /** How many loads share `reading`. */
  share: { readers: number };
  /** Writes this process finished on the key: a read that saw one finish may be older than it. */
  writes: number;
}

/** What a read found, with the number of loads that share it (each needs a record of its own). */
export interface SharedRead extends Versioned {
  readers: number;
}

/** A merge waiting for its key, answered when its group is written. */
interface QueuedMerge<J> {
  job: J;
  resolve(written: boolean): void;
  reject(error: unknown): void;
  start?: undefined;
}

/** A merge that may go out with the merges queued beside it, or a task that runs alone. */
type Waiting<J> = QueuedMerge<J> | { start: () => void };

/**
 * Writes the merges of one group as one write: true when written, false when the key is gone (destroy
 * wins), a rejection for all of them otherwise.
 */
export type GroupWriter<J> = (key: string, hot: HotKey, jobs: J[]) => Promise<boolean>;

/**
 * Keys with nothing running, waiting or being read are kept (what this process wrote there saves a read
 * on the next burst) until this many keys are held, then all such keys go at once: a key deleted as soon
 * as it idles would make the Map drop and re-add the same keys request after request.
 */
export const IDLE_MAX = 1024;

const NO_SHARE = Object.freeze({ readers: 0 }) as { readers: number };

export class HotKeys<J> {
  readonly #keys = new Map<string, HotKey>();
  readonly #writeGroup: GroupWriter<J>;
  readonly #splits: (error: unknown) => boolean;
  /** The size at which idle keys are swept next. */
  #sweepAt = IDLE_MAX;

  /**
   * `splits`: a group whose write fails with such an error (its merges together are over a size limit) is
   * written again one merge at a time, so that only the merge at fault is refused.
   */
  constructor(writeGroup: GroupWriter<J>, splits: (error: unknown) => boolean = () => false) {
    this.#writeGroup = writeGroup;
    this.#splits = splits;
  }

  /** The key as known, if it is held. */
  peek(key: string): HotKey | undefined {
    return this.#keys.get(key);
  }

  /**
   * The read of `key`: the one in flight when there is one, else `fetch()`, shared until it settles. A
   * write that starts or finishes ends the sharing, so a load that begins after a write sees it.
   */
  read(key: string, fetch: () => Promise<Versioned | undefined>): Promise<SharedRead | undefined> {
    const hot = this.#entry(key);
    if (hot.reading !== undefined) {
      hot.share.readers++;
      return hot.reading;
    }
    const writes = hot.writes;
    // Every load that shares the read joins before it settles, so `readers` is final when it does.
    const share = { readers: 1 };
    const reading: Promise<SharedRead | undefined> = fetch().then(
      (stored) => {
        if (hot.reading === reading) hot.reading = undefined;
        // Read with no write of this process finishing meanwhile, yet not what it last wrote: another
        // process wrote since, so that write is no guide to what is stored.
        if (hot.writes === writes && hot.written && stored?.version !== hot.written.version)
          hot.written = undefined;
        return stored && { value: stored.value, version: stored.version, readers: share.readers };
      },
      (error: unknown) => {
        if (hot.reading === reading) hot.reading = undefined;
        throw error;
      },
    );
    hot.reading = reading;
    hot.share = share;
    return reading;
  }

  /**
   * Writes a merge now when the key is free, else when it is next free, together with the merges queued
   * beside it (group commit); answers what the group's write answered.
   */
  merge(key: string, job: J): Promise<boolean> {
    const hot = this.#entry(key);
    if (hot.busy)
      return new Promise<boolean>((resolve, reject) =>
        (hot.waiting as Waiting<J>[]).push({ job, resolve, reject }),
      );
    this.#begin(hot);
    // The usual case, nothing queued: the write's own promise and one step, no promise of the queue's.
    return this.#write(key, hot, [job]).then(
      (written) => {
        this.#release(key, hot);
        return written;
      },
      (error: unknown) => {
        this.#release(key, hot);
        throw error;
      },
    );
  }

  /** Runs `task` when the key is free, alone: after the writes queued before it, before the ones after. */
  alone<T>(key: string, task: (hot: HotKey) => Promise<T>): Promise<T> {
    const hot = this.#entry(key);
    if (!hot.busy) return this.#startAlone(key, hot, task);
    return new Promise<T>((resolve, reject) => {
      hot.waiting.push({ start: () => this.#startAlone(key, hot, task).then(resolve, reject) });
    });
  }

  /** Keys held, idle ones included: for specs (never far past IDLE_MAX besides the busy ones). */
  get held(): number {
    return this.#keys.size;
  }

  #startAlone<T>(key: string, hot: HotKey, task: (hot: HotKey) => Promise<T>): Promise<T> {
    this.#begin(hot);
    let running: Promise<T>;
    try {
      running = task(hot);
    } catch (error) {
      running = Promise.reject(error);
    }
    const release = () => this.#release(key, hot);
    running.then(release, release);
    return running;
  }

  #startGroup(key: string, hot: HotKey, group: QueuedMerge<J>[]): void {
    this.#begin(hot);
    this.#write(
      key,
      hot,
      group.map((queued) => queued.job),
    ).then(
      (written) => {
        this.#release(key, hot);
        for (const queued of group) queued.resolve(written);
      },
      async (error: unknown) => {
        if (group.length > 1 && this.#splits(error)) {
          for (const queued of group)
            await this.#write(key, hot, [queued.job]).then(queued.resolve, queued.reject);
        } else {
          for (const queued of group) queued.reject(error);
        }
        this.#release(key, hot);
      },
    );
  }

  /** The writer's answer, a throw included, as a promise. */
  #write(key: string, hot: HotKey, jobs: J[]): Promise<boolean> {
    try {
      return this.#writeGroup(key, hot, jobs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A write begins: loads from now on read afresh. */
  #begin(hot: HotKey): void {
    hot.busy = true;
    hot.reading = undefined;
  }

  /** The key goes to what waits next: every merge at the head of the queue as one group, or one task. */
  #release(key: string, hot: HotKey): void {
    hot.writes++;
    hot.busy = false;
    // A read that began during the write may have missed it (a pool runs statements side by side): a load
    // from now on, which may come from the request the write just answered, reads afresh.
    hot.reading = undefined;
    const next = hot.waiting[0];
    if (next === undefined) return;
    if (next.start !== undefined) {
      hot.waiting.shift();
      next.start();
      return;
    }
    let count = 1;
    while (count < hot.waiting.length && hot.waiting[count]!.start === undefined) count++;
    this.#startGroup(key, hot, hot.waiting.splice(0, count) as QueuedMerge<J>[]);
  }

  #entry(key: string): HotKey {
    let hot = this.#keys.get(key);
    if (hot === undefined) {
      if (this.#keys.size >= this.#sweepAt) this.#sweep();
      hot = { busy: false, waiting: [], written: undefined, reading: undefined, share: NO_SHARE, writes: 0 };
      this.#keys.set(key, hot);
    }
    return hot;
  }

  /** Forgets every idle key; with many busy ones, sweeps again only once the Map has doubled. */
  #sweep(): void {
    for (const [key, hot] of this.#keys)
      if (!hot.busy && hot.reading === undefined && hot.waiting.length === 0) this.#keys.delete(key);
    this.#sweepAt = Math.max(IDLE_MAX, this.#keys.size * 2);
  }
}
