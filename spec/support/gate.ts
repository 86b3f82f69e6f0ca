/**
 * Holds requests in flight: a handler awaits `enter()`, the spec waits for `started(n)`, acts meanwhile
 * (a sign-out, a concurrent write), then `release()`s them. Destroy-wins and merge specs are built on it.
 */
export class Gate {
  #entered = 0;
  #waiting: (() => void)[] = [];
  #release!: () => void;
  readonly released = new Promise<void>((resolve) => {
    this.#release = resolve;
  });

  enter(): Promise<void> {
    this.#entered++;
    for (const wake of this.#waiting.splice(0)) wake();
    return this.released;
  }

  /** Resolves once `count` requests are waiting. */
  async started(count = 1): Promise<void> {
    while (this.#entered < count) await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    this.#release();
  }
}
