import { expect } from "chai";
import type { SessionRecord, SessionStore } from "stoat";
import { newSessionId as newId } from "../../src/session/ids.js";
import { type ServiceName, useService } from "./services.js";

/**
 * The one suite every store runs (Django's sessions_tests): each store's spec file adds one call. Where a
 * store cannot behave like the others, it says so in `differences`, with the reason, and the suite checks
 * the documented behaviour instead of skipping.
 */
export interface StoreContractOptions {
  /** The service the store needs: unreachable fails under CI, skips with the reason elsewhere. */
  service?: ServiceName;
  /** Builds a fresh store; `cleanup` runs after each test. */
  make(): Promise<{ store: SessionStore; cleanup?: () => Promise<void> }>;
  differences?: {
    /**
     * The store keeps nothing server-side, so `destroy` cannot revoke a value already handed out: a copied
     * value still loads until it expires (cookie store).
     */
    destroyKeepsCopies?: string;
    /** Every save returns a new value, so an update is found under the new value only (cookie store). */
    newValueOnEverySave?: string;
  };
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function record(entries: Record<string, string> = {}): SessionRecord {
  return { data: new Map(Object.entries(entries)), flash: new Map(), createdAt: T0 };
}

async function loadedRecord(
  store: SessionStore,
  value: string,
  now: number,
): Promise<SessionRecord | undefined> {
  const result = await store.load(value, now);
  return result && "record" in result ? result.record : undefined;
}

/** Saves and checks that the store answered a cookie value (not "gone"). */
async function save(store: SessionStore, ...args: Parameters<SessionStore["save"]>): Promise<string> {
  const value = await store.save(...args);
  expect(value, "save answers a cookie value").to.be.a("string");
  return value!;
}

export function storeContract(name: string, options: StoreContractOptions): void {
  describe(`store contract: ${name}`, () => {
    let store: SessionStore;
    let cleanup: (() => Promise<void>) | undefined;

    before(async function () {
      if (options.service) await useService(this, options.service);
    });
    beforeEach(async () => {
      ({ store, cleanup } = await options.make());
    });
    afterEach(async () => {
      await cleanup?.();
    });

    it("finds nothing under a value it never issued, well-formed or not", async () => {
      expect(await loadedRecord(store, "never-issued-value", T0)).to.equal(undefined);
      expect(await loadedRecord(store, newId(), T0)).to.equal(undefined);
    });

    it("round-trips data, flash, creation time and per-session expiry", async () => {
      // Built from pairs: in an object literal `__proto__: "p"` would not be a key at all.
      const saved = record({ user: "ann", empty: "", emoji: "🦦 é", constructor: "c" });
      saved.data.set("__proto__", "p");
      saved.flash.set("notice", "hi");
      saved.maxAge = 600;
      saved.browserSession = true;
      const value = await save(store, saved, T0 + 60_000, newId(), T0);
      const result = await store.load(value, T0 + 1000);
      expect(result && "record" in result, "loaded").to.equal(true);
      const loaded = (result as { record: SessionRecord; expiresAt: number }).record;
      expect([...loaded.data]).to.deep.equal([...saved.data]);
      expect([...loaded.flash]).to.deep.equal([["notice", "hi"]]);
      expect(loaded.createdAt).to.equal(T0);
      expect(loaded.maxAge).to.equal(600);
      expect(loaded.browserSession).to.equal(true);
      expect((result as { expiresAt: number }).expiresAt).to.equal(T0 + 60_000);
      expect(loaded.data.get("__proto__")).to.equal("p");
    });

    it("upserts: a second save of changed data is what loads", async () => {
      const id = newId();
      const first = await save(store, record({ a: "1" }), T0 + 60_000, id, T0);
      const second = await save(store, record({ a: "2", b: "3" }), T0 + 60_000, id, T0);
      expect(Object.fromEntries((await loadedRecord(store, second, T0))!.data)).to.deep.equal({
        a: "2",
        b: "3",
      });
      if (options.differences?.newValueOnEverySave) {
        expect(second).to.not.equal(first);
      } else {
        expect(second).to.equal(first);
      }
    });

    it("destroys idempotently", async () => {
      const value = await save(store, record({ a: "1" }), T0 + 60_000, newId(), T0);
      await store.destroy(value);
      await store.destroy(value);
      if (options.differences?.destroyKeepsCopies) {
        expect(await loadedRecord(store, value, T0), "a copied value stays valid").to.not.equal(undefined);
      } else {
        expect(await loadedRecord(store, value, T0)).to.equal(undefined);
      }
    });

    it("enforces expiry on read", async () => {
      const value = await save(store, record({ a: "1" }), T0 + 10_000, newId(), T0);
      expect(await loadedRecord(store, value, T0 + 9_999)).to.not.equal(undefined);
      expect(await loadedRecord(store, value, T0 + 10_000)).to.equal(undefined);
    });

    it("touch moves the expiry of an unchanged record", async () => {
      const rec = record({ a: "1" });
      const value = await save(store, rec, T0 + 10_000, newId(), T0);
      const touched = await store.touch(rec, T0 + 20_000, value, T0);
      expect(Object.fromEntries((await loadedRecord(store, touched, T0 + 15_000))!.data)).to.deep.equal({
        a: "1",
      });
      expect(await loadedRecord(store, touched, T0 + 20_000)).to.equal(undefined);
    });
  });
}
