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
  waiting: Waiting<unknown>[];
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

/** A merge that may go out with the merges queued beside it, or a task that runs alone. */
type Waiting<J> = { job: J; start?: undefined } | { job?: undefined; start: () => void };

/** Writes the merges of one group as one, and answers each of them (it never rejects). */
export type GroupWriter<J> = (key: string, hot: HotKey, jobs: J[]) => Promise<void>;

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
  /** The size at which idle keys are swept next. */
  #sweepAt = IDLE_MAX;

  constructor(writeGroup: GroupWriter<J>) {
    this.#writeGroup = writeGroup;
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
    const reading = fetch().then((stored) => {
      if (hot.reading === reading) hot.reading = undefined;
      // Read with no write of this process finishing meanwhile, yet not what it last wrote: another
      // process wrote since, so that write is no guide to what is stored.
      if (hot.writes === writes && hot.written && stored?.version !== hot.written.version)
        hot.written = undefined;
      return stored && { value: stored.value, version: stored.version, readers: share.readers };
    });
    hot.reading = reading;
    hot.share = share;
    reading.then(undefined, () => {
      if (hot.reading === reading) hot.reading = undefined;
    });
    return reading;
  }

  /** Queues a merge: written with the merges waiting beside it when the key is next free (group commit). */
  merge(key: string, job: J): void {
    const hot = this.#entry(key);
    if (hot.busy) hot.waiting.push({ job });
    else this.#startGroup(key, hot, [job]);
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

  #startGroup(key: string, hot: HotKey, jobs: J[]): void {
    this.#begin(hot);
    const release = () => this.#release(key, hot);
    let writing: Promise<void>;
    try {
      writing = this.#writeGroup(key, hot, jobs);
    } catch {
      writing = Promise.resolve(); // a writer answers its jobs itself; the key must never stay held
    }
    writing.then(release, release);
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
    const group = hot.waiting.splice(0, count).map((waiting) => waiting.job as J);
    this.#startGroup(key, hot, group);
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
