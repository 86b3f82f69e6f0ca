import { expect } from "chai";
import type { SessionRecord, SessionStore } from "stoat";

/**
 * The one suite every store runs (Django's sessions_tests): each store's spec file adds one call. Where a
 * store cannot behave like the others, it says so in `differences`, with the reason, and the suite checks
 * the documented behaviour instead of skipping.
 */
export interface StoreContractOptions {
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

function loadedRecord(store: SessionStore, value: string, now: number): SessionRecord | undefined {
  const result = store.load(value, now);
  return result && "record" in result ? result.record : undefined;
}

export function storeContract(name: string, options: StoreContractOptions): void {
  describe(`store contract: ${name}`, () => {
    let store: SessionStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, cleanup } = await options.make());
    });
    afterEach(async () => {
      await cleanup?.();
    });

    it("finds nothing under a value it never issued", () => {
      expect(loadedRecord(store, "never-issued-value", T0)).to.equal(undefined);
    });

    it("round-trips data, flash, creation time and per-session expiry", async () => {
      // Built from pairs: in an object literal `__proto__: "p"` would not be a key at all.
      const saved = record({ user: "ann", empty: "", emoji: "🦦 é", constructor: "c" });
      saved.data.set("__proto__", "p");
      saved.flash.set("notice", "hi");
      saved.maxAge = 600;
      saved.browserSession = true;
      const value = await store.save(saved, T0 + 60_000, undefined);
      const result = store.load(value, T0 + 1000);
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
      const first = await store.save(record({ a: "1" }), T0 + 60_000, undefined);
      const second = await store.save(record({ a: "2", b: "3" }), T0 + 60_000, first);
      expect(Object.fromEntries(loadedRecord(store, second, T0)!.data)).to.deep.equal({ a: "2", b: "3" });
      if (options.differences?.newValueOnEverySave) {
        expect(second).to.not.equal(first);
      } else {
        expect(second).to.equal(first);
      }
    });

    it("destroys idempotently", async () => {
      const value = await store.save(record({ a: "1" }), T0 + 60_000, undefined);
      await store.destroy(value);
      await store.destroy(value);
      if (options.differences?.destroyKeepsCopies) {
        expect(loadedRecord(store, value, T0), "a copied value stays valid").to.not.equal(undefined);
      } else {
        expect(loadedRecord(store, value, T0)).to.equal(undefined);
      }
    });

    it("enforces expiry on read", async () => {
      const value = await store.save(record({ a: "1" }), T0 + 10_000, undefined);
      expect(loadedRecord(store, value, T0 + 9_999)).to.not.equal(undefined);
      expect(loadedRecord(store, value, T0 + 10_000)).to.equal(undefined);
    });

    it("touch moves the expiry of an unchanged record", async () => {
      const rec = record({ a: "1" });
      const value = await store.save(rec, T0 + 10_000, undefined);
      const touched = await store.touch(rec, T0 + 20_000, value);
      expect(Object.fromEntries(loadedRecord(store, touched, T0 + 15_000)!.data)).to.deep.equal({ a: "1" });
      expect(loadedRecord(store, touched, T0 + 20_000)).to.equal(undefined);
    });
  });
}
