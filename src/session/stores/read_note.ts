import type { SessionRecord } from "../record.js";
import type { ReadSnapshot } from "./merge.js";

// What a server-side store read a record as (its version for compare-and-set, the parts merged whole),
// noted on the record it handed out, for the save or touch of that record later in the same request.
//
// On the record, not in a WeakMap of the store's: with a WeakMap, V8's scavenges kept each request's snapshot
// (and the stored string it holds) alive after its key, the record, had died with its request, and promoted
// it to the old generation. Measured on the Redis read-only bench: 329 bytes promoted and ~750
// surviving per request with the WeakMap, 2 and ~400 without; scavenge pause ~2.5 -> ~1.5 us a request. A
// field dies with the record. The owner is kept too, so a record one store loaded is never taken by another
// store as read by it (what a WeakMap per store gave).

const READ = Symbol("stoat.read");

interface Note {
  owner: object;
  snapshot: ReadSnapshot;
}

type Noted = SessionRecord & { [READ]?: Note };

/** Notes on `record` that `owner` (a store) read it as `snapshot`. */
export function noteRead(owner: object, record: SessionRecord, snapshot: ReadSnapshot): void {
  (record as Noted)[READ] = { owner, snapshot };
}

/** What `owner` noted it read `record` as; undefined for a record it did not load. */
export function readOf(owner: object, record: SessionRecord): ReadSnapshot | undefined {
  const note = (record as Noted)[READ];
  return note !== undefined && note.owner === owner ? note.snapshot : undefined;
}
