import type { SessionRecord } from "../record.js";
import type { LoadedSnapshot } from "./merge.js";

// What a server-side store loaded a record as (its version for compare-and-set, the parts merged whole),
// remembered on the record it handed out, for the save or touch of that record later in the same request.
//
// On the record, not in a WeakMap of the store's: V8's young-generation collections keep a WeakMap's values
// alive after their key has died, so each request's snapshot would outlive its request, where a field dies
// with the record. The owning store is kept too, so a record one store loaded is never taken by another
// store as loaded by it (what a WeakMap per store gave).

const LOADED = Symbol("stoat.loaded");

interface Remembered {
  store: object;
  snapshot: LoadedSnapshot;
}

type WithLoaded = SessionRecord & { [LOADED]?: Remembered };

/** Remembers on `record` that `store` loaded it as `snapshot`. */
export function rememberLoad(store: object, record: SessionRecord, snapshot: LoadedSnapshot): void {
  (record as WithLoaded)[LOADED] = { store, snapshot };
}

/** What `store` loaded `record` as; undefined for a record it did not load. */
export function loadedSnapshot(store: object, record: SessionRecord): LoadedSnapshot | undefined {
  const remembered = (record as WithLoaded)[LOADED];
  return remembered !== undefined && remembered.store === store ? remembered.snapshot : undefined;
}
