import type { KeyvStoreAdapter } from "keyv";
import { ConfigError } from "../../errors.js";
import { rules } from "../../validation.js";
import type { Backend } from "../backend.js";
import { KeyvBackend } from "../keyv_backend.js";
import { defineStore } from "./definition.js";
import { importAdapter, keyvClass } from "./import_adapter.js";
import { type AdapterOptions, DEFAULTS } from "./options.js";

const PACKAGE = "lru-cache";

// The in-process store: a Keyv over an lru-cache bounded by entry count and age.

interface LruCache {
  get(key: string): string | undefined;
  set(key: string, value: string, options: { ttl: number }): unknown;
  delete(key: string): boolean;
  clear(): void;
  purgeStale(): boolean;
}
interface LruModule {
  LRUCache: new (options: Record<string, unknown>) => LruCache;
}

export async function openMemory(options: AdapterOptions): Promise<Backend> {
  const maxEntries = options.maxEntries ?? DEFAULTS.maxEntries;
  if (!(Number.isInteger(maxEntries) && maxEntries > 0)) {
    throw new ConfigError(
      `session store "memory": maxEntries must be a whole number above 0, got ${maxEntries}`,
    );
  }
  const { LRUCache } = await importAdapter<LruModule>("memory", PACKAGE);
  const Keyv = await keyvClass();
  const ttlMs = Math.max(1000, options.ttlMs);
  // Bounded by count (least recently used first) and by age: stale entries are never returned, and a purge
  // every minute (or TTL, when shorter) drops those nobody reads again.
  const cache = new LRUCache({ max: maxEntries, ttl: ttlMs });
  const purge = setInterval(() => cache.purgeStale(), Math.min(ttlMs, 60_000));
  purge.unref();
  const store = {
    get: async (key: string) => cache.get(key),
    set: async (key: string, value: string, ttl?: number) => {
      cache.set(key, value, { ttl: ttl ?? ttlMs });
      return true;
    },
    delete: async (key: string) => cache.delete(key),
    clear: async () => cache.clear(),
  };
  const keyv = new Keyv({
    store: store as unknown as KeyvStoreAdapter,
    namespace: options.namespace ?? DEFAULTS.namespace,
  });
  return new KeyvBackend(keyv, {
    name: "memory",
    timeoutMs: options.timeoutMs,
    close: () => {
      clearInterval(purge);
      cache.clear();
    },
  });
}

export const memoryStore = defineStore({
  name: "memory",
  package: PACKAGE,
  rules: { maxEntries: rules.wholeNumber(1, 10_000_000) },
  open: openMemory,
});
