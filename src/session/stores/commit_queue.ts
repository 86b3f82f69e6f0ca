/**
 * Runs tasks that share a key one after another (in arrival order), tasks with other keys in parallel. The
 * session middleware queues the commits of one server-side session within a process: concurrent requests of
 * one process then never race each other's compare-and-set (each finds the record as the previous one left
 * it, one retry at most), and the store's bounded retries are left for writers in other processes.
 */
export class CommitQueue {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous ? previous.then(() => mine) : mine;
    this.#tails.set(key, tail);
    try {
      if (previous) await previous;
      return await task();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
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
