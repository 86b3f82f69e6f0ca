/**
 * A size-capped Map that forgets its oldest entry first, for string keys fed by client input (the seal's
 * keys and MACs by salt), which must never grow with what a client sends. The caches written on every
 * request, keyed by integers, use SlotCache (slot_cache.ts).
 *
 * Insertion order is kept in a ring of keys beside the Map: evicting is one array read and one delete, where
 * asking the Map for its first key makes an iterator on every insert. Re-setting a key keeps its place, as
 * in a Map.
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #ring: K[] = [];
  readonly #max: number;
  /** The ring slot of the next insert: once the ring is full, the oldest key's. */
  #slot = 0;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError("BoundedCache needs a whole max of at least 1");
    this.#max = max;
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): void {
    const entries = this.#entries;
    const size = entries.size;
    entries.set(key, value);
    if (entries.size === size) return; // an existing key: same place
    if (this.#ring.length === this.#max) entries.delete(this.#ring[this.#slot]!);
    this.#ring[this.#slot] = key;
    this.#slot = (this.#slot + 1) % this.#max;
  }

  /** The value under `key`, made by `make` (and kept) when there is none. */
  getOrSet(key: K, make: () => V): V {
    let value = this.#entries.get(key);
    if (value === undefined) {
      value = make();
      this.set(key, value);
    }
    return value;
  }

  get size(): number {
    return this.#entries.size;
  }
}
