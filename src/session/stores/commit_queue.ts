/**
 * Runs tasks that share a key one after another (in arrival order), tasks with other keys in parallel. The
 * session middleware queues the commits of one server-side session within a process: concurrent requests of
 * one process then never race each other's compare-and-set (each finds the record as the previous one left
 * it, one retry at most), and the store's bounded retries are left for writers in other processes.
 */
export class CommitQueue {
  /** Keys with a task running, each with the tasks waiting behind it (a wake-up each, in arrival order). */
  readonly #busy = new Map<string, (() => void)[]>();

  /**
   * The usual commit has no other commit of its session in flight: then it costs one Map lookup and no
   * promise of the queue's own (this runs on every write of a server-side session).
   */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const waiting = this.#busy.get(key);
    if (waiting) return new Promise<void>((wake) => waiting.push(wake)).then(() => this.#start(key, task));
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

  /** Hands the key straight to the next task (it stays busy), or frees it. */
  #release(key: string): void {
    const next = this.#busy.get(key)!.shift();
    if (next) next();
    else this.#busy.delete(key);
  }

  /** Keys with a task running or waiting: for specs (an idle queue holds nothing). */
  get size(): number {
    return this.#busy.size;
  }
}

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
