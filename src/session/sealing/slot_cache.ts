/**
 * A fixed-size cache for integer keys (cache_key.ts), two-way set-associative: a key may sit in one of two
 * slots, and a new key takes the slot of the older entry of its pair. Used for the caches of verified values
 * (seals, at-rest records), which insert an entry on every write and look one up on every read.
 *
 * Why not BoundedCache (a Map with a ring): every insert there is a Map insert plus a delete of the oldest
 * key, so the Map's table fills with deleted entries and V8 rebuilds it every few hundred writes, a new
 * table the long-lived cache then carries into the old generation; and each insert and lookup goes through
 * the Map's hashing. Here an insert is two array stores.
 *
 * What it gives up: a Map with a ring forgets strictly the oldest entry; here an entry goes when two newer
 * keys land in its pair. With keys spread evenly, an entry outlives the next n inserts with probability
 * about 1 - (n/P)^2 / 2 for P pairs: 99.9% for 50 sessions in flight and 1,024 pairs. A miss costs the work
 * the cache saves (a value is verified from scratch), never a wrong answer: callers compare the whole value.
 */
export class SlotCache<V> {
  readonly #keys: Int32Array;
  readonly #values: (V | undefined)[];
  /** When each slot was last written (a counter; compared modulo 2^32, so it may wrap). */
  readonly #stamps: Uint32Array;
  readonly #mask: number;
  #clock = 0;

  /** @param slots a power of two, at least 2 */
  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 2 || (slots & (slots - 1)) !== 0)
      throw new RangeError("SlotCache needs a power of two of at least 2 slots");
    this.#keys = new Int32Array(slots);
    this.#values = new Array<V | undefined>(slots).fill(undefined);
    this.#stamps = new Uint32Array(slots);
    // The pair of a key: its low bits with the last one cleared.
    this.#mask = (slots - 1) & ~1;
  }

  /** The value under `key` (an integer of at most 31 bits), or undefined. */
  get(key: number): V | undefined {
    const i = key & this.#mask;
    if (this.#keys[i] === key && this.#values[i] !== undefined) return this.#values[i];
    if (this.#keys[i + 1] === key) return this.#values[i + 1];
    return undefined;
  }

  /** Keeps `value` under `key`: in place of the key's old value, else in a free slot, else the older one. */
  set(key: number, value: V): void {
    const i = key & this.#mask;
    const keys = this.#keys;
    const values = this.#values;
    let slot: number;
    if (keys[i] === key && values[i] !== undefined) slot = i;
    else if (keys[i + 1] === key && values[i + 1] !== undefined) slot = i + 1;
    else if (values[i] === undefined) slot = i;
    else if (values[i + 1] === undefined) slot = i + 1;
    else slot = ((this.#stamps[i]! - this.#stamps[i + 1]!) | 0) <= 0 ? i : i + 1;
    keys[slot] = key;
    values[slot] = value;
    this.#stamps[slot] = ++this.#clock;
  }

  /** Entries held: for specs. */
  get size(): number {
    let count = 0;
    for (const value of this.#values) if (value !== undefined) count++;
    return count;
  }
}
