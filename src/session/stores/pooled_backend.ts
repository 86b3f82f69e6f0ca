import type { Backend } from "./backend.js";

/**
 * Spreads calls over several connections, round robin, for clients that hold one socket each (memjs keeps
 * one per server): `poolSize` connections share the load instead of queueing on one socket.
 */
export class PooledBackend implements Backend {
  readonly #members: readonly Backend[];
  #next = 0;

  constructor(members: readonly Backend[]) {
    if (members.length === 0) throw new RangeError("a pool needs at least one backend");
    this.#members = members;
  }

  #pick(): Backend {
    const member = this.#members[this.#next]!;
    this.#next = (this.#next + 1) % this.#members.length;
    return member;
  }

  get(key: string): Promise<string | undefined> {
    return this.#pick().get(key);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.#pick().set(key, value, ttlMs);
  }

  // biome-ignore lint/suspicious/noConfusingVoidType: backends written before the hint answer void
  delete(key: string): Promise<boolean | void> {
    return this.#pick().delete(key);
  }

  async close(): Promise<void> {
    await Promise.all(this.#members.map((m) => m.close()));
  }
}
