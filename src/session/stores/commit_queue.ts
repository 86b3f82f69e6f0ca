/**
 * Runs tasks that share a key one after another (in arrival order), tasks with other keys in parallel. The
 * session middleware queues the commits of one server-side session within a process: concurrent requests of
 * one process then never race each other's compare-and-set (each finds the record as the previous one left
 * it, one retry at most), and the store's bounded retries are left for writers in other processes.
 */
export class CommitQueue {
  /**
   * Keys with a task running, each with the tasks waiting behind it (a wake-up each, in arrival order), and
   * keys whose last task is done (IDLE). A done key stays until IDLE_MAX of them have gathered, then they all
   * go at once: deleting each key as its task ends would make the Map drop and re-add the same keys request
   * after request, and V8 rebuilds a Map's table as deleted entries fill it, a new table each few dozen
   * requests that the long-lived Map would carry into the old generation.
   */
  readonly #busy = new Map<string, (() => void)[]>();
  #idle = 0;

  /**
   * The usual commit has no other commit of its session in flight: then it costs one Map lookup and no
   * promise of the queue's own (this runs on every write of a server-side session).
   */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const waiting = this.#busy.get(key);
    if (waiting !== undefined && waiting !== IDLE)
      return new Promise<void>((wake) => waiting.push(wake)).then(() => this.#start(key, task));
    if (waiting === IDLE) this.#idle--;
    this.#busy.set(key, []);
    return this.#start(key, task);
  }

  /** Runs `task` holding `key`, and passes the key on when it settles (one `then`, no async wrapper). */
  #start<T>(key: string, task: () => Promise<T>): Promise<T> {
    let running: Promise<T>;
    try {
      running = task();
    } catch (error) {
      this.#release(key);
      return Promise.reject(error);
    }
    return running.then(
      (value) => {
        this.#release(key);
        return value;
      },
      (error: unknown) => {
        this.#release(key);
        throw error;
      },
    );
  }

  /** Hands the key straight to the next task (it stays busy), or marks it done. */
  #release(key: string): void {
    const next = this.#busy.get(key)!.shift();
    if (next) {
      next();
      return;
    }
    this.#busy.set(key, IDLE);
    if (++this.#idle >= IDLE_MAX) this.#sweep();
  }

  /** Forgets every done key. */
  #sweep(): void {
    for (const [key, waiting] of this.#busy) if (waiting === IDLE) this.#busy.delete(key);
    this.#idle = 0;
  }

  /** Keys with a task running or waiting: for specs (an idle queue has none). */
  get size(): number {
    return this.#busy.size - this.#idle;
  }

  /** Keys held, done ones included: for specs (never more than IDLE_MAX besides the busy ones). */
  get held(): number {
    return this.#busy.size;
  }
}

/** A key whose last task is done: no task running, none waiting (frozen: nothing may ever wait on it). */
const IDLE: (() => void)[] = Object.freeze([]) as unknown as (() => void)[];
/**
 * Done keys kept before they all go (~100 KB of session ids at most). A process whose sessions in use fit in
 * it re-uses their entries; beyond it, keys come and go in batches.
 */
export const IDLE_MAX = 1024;

const queues = new WeakMap<object, CommitQueue>();

/** The queue of one store instance. */
export function commitQueueOf(store: object): CommitQueue {
  let queue = queues.get(store);
  if (!queue) {
    queue = new CommitQueue();
    queues.set(store, queue);
  }
  return queue;
}
