/**
 * Bounds calls in time with one timer for all of them, instead of a setTimeout + Promise.race per call
 * (withTimeout), which cost more CPU than the rest of a Redis read. Every call gets the same `timeoutMs`, so
 * deadlines come in the order calls start: the pending calls form a FIFO list, settled calls leave it from
 * the front as new ones arrive, and one unref'd timer is armed for the oldest pending deadline. A call still
 * pending at its deadline is rejected ("no answer within N ms") then, or as late as a timer of its own
 * would have fired; the work is abandoned, not cancelled, and a late failure of it is not unhandled.
 */
export class Deadlines {
  readonly #timeoutMs: number;
  #head: Pending | undefined;
  #tail: Pending | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number) {
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
    }
    this.#timeoutMs = timeoutMs;
  }

  /** `work()`'s result, or a rejection once `timeoutMs` has passed; a synchronous throw rejects. */
  run<T>(work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        at: performance.now() + this.#timeoutMs,
        reject,
        done: false,
        next: undefined,
      };
      this.#push(pending);
      let result: Promise<T>;
      try {
        result = work();
      } catch (error) {
        pending.done = true;
        reject(error);
        return;
      }
      result.then(
        (value) => {
          pending.done = true;
          resolve(value);
        },
        (error: unknown) => {
          pending.done = true; // after a timeout this rejection goes nowhere: not unhandled
          reject(error);
        },
      );
    });
  }

  #push(pending: Pending): void {
    // Settled calls at the front go now, so the list holds little more than the calls in flight.
    while (this.#head?.done) this.#head = this.#head.next;
    if (this.#head === undefined) this.#head = pending;
    else this.#tail!.next = pending;
    this.#tail = pending;
    if (this.#timer === undefined) this.#arm(this.#timeoutMs);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#expire, Math.max(1, Math.ceil(ms)));
    this.#timer.unref();
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    let pending = this.#head;
    for (; pending !== undefined; pending = pending.next) {
      if (pending.done) continue;
      if (pending.at > now) break;
      pending.done = true;
      pending.reject(new Error(`no answer within ${this.#timeoutMs} ms`));
    }
    this.#head = pending;
    if (pending === undefined) this.#tail = undefined;
    else this.#arm(pending.at - now);
  };
}

interface Pending {
  /** The deadline, on performance.now()'s monotonic clock (a wall-clock jump moves no deadline). */
  readonly at: number;
  readonly reject: (error: Error) => void;
  done: boolean;
  next: Pending | undefined;
}
