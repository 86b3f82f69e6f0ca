import { expect } from "chai";
import { SessionConflictError } from "../../../src/session/errors.js";
import { newSessionId, privateId } from "../../../src/session/ids.js";
import { emptyRecord, type SessionRecord } from "../../../src/session/record.js";
import { RecordSealer } from "../../../src/session/sealing/record_sealer.js";
import { openBackend } from "../../../src/session/stores/adapters/index.js";
import type { Backend } from "../../../src/session/stores/backend.js";
import { ServerStore } from "../../../src/session/stores/server_store.js";
import { SECRET } from "../../support/app.js";
import { serviceUrl, useService } from "../../support/services.js";

// The compare-and-set save of a loaded record on real Redis, with another writer landing between this
// request's read and its write: the guarded write fails, the record is read again and merged, and after
// maxAttempts the save gives up with 409 and writes nothing of its own.

const sealerOptions = { secrets: [SECRET], encrypt: true, serializer: "msgpack" as const };

function recordWith(entries: Record<string, string>, now: number): SessionRecord {
  const record = emptyRecord(now);
  for (const [key, value] of Object.entries(entries)) record.data.set(key, value);
  return record;
}

describe("ServerStore compare-and-set under a concurrent writer (redis)", () => {
  let backend: Backend;
  before(async function () {
    await useService(this, "redis");
  });
  beforeEach(async () => {
    backend = await openBackend("redis", {
      url: serviceUrl("redis"),
      namespace: `cas-${Date.now().toString(36)}`,
      timeoutMs: 2000,
      ttlMs: 60_000,
    });
  });
  afterEach(() => backend.close());

  /**
   * `backend`, except that before each of the first `interruptions` guarded writes another writer stores a
   * record of its own (key "other" = the attempt number) under the same key, as a request elsewhere would.
   */
  function interrupted(interruptions: number) {
    const other = new RecordSealer(sealerOptions);
    const attempts: number[] = [];
    const wrapped: Backend = {
      get: (key) => backend.get(key),
      set: (key, value, ttl) => backend.set(key, value, ttl),
      delete: (key) => backend.delete(key),
      getVersioned: (key) => backend.getVersioned!(key),
      compareAndMove: (...args) => backend.compareAndMove!(...args),
      close: async () => {},
      async compareAndSet(key, expected, next, ttl) {
        attempts.push(attempts.length + 1);
        if (attempts.length <= interruptions) {
          const now = Date.now();
          await backend.set(
            key,
            other.encode(recordWith({ other: String(attempts.length) }, now), now + 60_000),
            ttl,
          );
        }
        return backend.compareAndSet!(key, expected, next, ttl);
      },
    };
    return { wrapped, attempts };
  }

  async function loadedUnder(store: ServerStore, id: string) {
    const loaded = await store.load(id, Date.now());
    if (!loaded || "rejected" in loaded) throw new Error("the seeded record did not load");
    return loaded.record;
  }

  it("merges onto the other writer's record and writes once the guard holds", async () => {
    const { wrapped, attempts } = interrupted(2);
    const store = new ServerStore("redis", wrapped, sealerOptions);
    const id = newSessionId();
    const now = Date.now();
    await store.save(recordWith({ mine: "0" }, now), now + 60_000, id, now, {
      existing: false,
      changes: { data: new Map(), cleared: false },
    });

    const record = await loadedUnder(store, id);
    record.data.set("mine", "1");
    const saved = await store.save(record, now + 60_000, id, now, {
      existing: true,
      changes: { data: new Map([["mine", "1"]]), cleared: false },
    });

    expect(saved).to.equal(id);
    expect(attempts).to.deep.equal([1, 2, 3]);
    const stored = await loadedUnder(new ServerStore("redis", backend, sealerOptions), id);
    expect(Object.fromEntries(stored.data)).to.deep.equal({ other: "2", mine: "1" });
  });

  it("gives up after maxAttempts with SessionConflictError (409), leaving the other writer's record", async () => {
    const { wrapped, attempts } = interrupted(Number.POSITIVE_INFINITY);
    const store = new ServerStore("redis", wrapped, { ...sealerOptions, maxAttempts: 3 });
    const id = newSessionId();
    const now = Date.now();
    await backend.set(
      privateId(id),
      new RecordSealer(sealerOptions).encode(recordWith({ mine: "0" }, now), now + 60_000),
      60_000,
    );

    const record = await loadedUnder(store, id);
    record.data.set("mine", "1");
    const error = await store
      .save(record, now + 60_000, id, now, {
        existing: true,
        changes: { data: new Map([["mine", "1"]]), cleared: false },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    expect(error).to.be.instanceOf(SessionConflictError);
    expect((error as SessionConflictError).status).to.equal(409);
    expect(attempts).to.deep.equal([1, 2, 3]);
    const stored = await loadedUnder(new ServerStore("redis", backend, sealerOptions), id);
    expect(Object.fromEntries(stored.data)).to.deep.equal({ other: "3" });
  });

  it("a save that throws before any I/O still answers with a rejection, not a throw", async () => {
    const store = new ServerStore("redis", backend, sealerOptions);
    let thrown: unknown;
    const answer = (() => {
      try {
        return store.save(emptyRecord(Date.now()), Date.now() + 1000, "not-an-id", Date.now());
      } catch (error) {
        thrown = error;
        return undefined;
      }
    })();
    expect(thrown).to.equal(undefined);
    const error = await answer!.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TypeError);
  });
});
