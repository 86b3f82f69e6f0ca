import { ConfigError } from "../../errors.js";
import type { Backend } from "../backend.js";
import type { StoreDefinition } from "./definition.js";
import { keyvStore } from "./keyv.js";
import { memcacheStore } from "./memcache.js";
import { memoryStore } from "./memory.js";
import { mysqlStore } from "./mysql.js";
import type { AdapterOptions } from "./options.js";
import { postgresStore } from "./postgres.js";
import { redisStore } from "./redis.js";
import { sqliteStore } from "./sqlite.js";

// The server-side stores over Keyv (docs/stores.md), one line each: a store is its adapter file. Each
// adapter is an optional peer dependency, imported only when its store is configured. The adapters'
// defaults are not safe for a session store (they hide a store that is down), so every one is configured,
// and in places patched, to fail fast: each store's file says how.

export const KEYV_STORES = [
  memoryStore,
  redisStore,
  memcacheStore,
  sqliteStore,
  postgresStore,
  mysqlStore,
  keyvStore,
] as const;

/** The names of the server-side stores over Keyv. */
export type BackendName = (typeof KEYV_STORES)[number]["name"];

export type { StoreDefinition } from "./definition.js";
export { type AdapterOptions, DEFAULTS, type RedisClusterOption } from "./options.js";

/** The definition of the Keyv store `name`. */
export function keyvStoreNamed(name: BackendName): StoreDefinition<BackendName> {
  return KEYV_STORES.find((store) => store.name === name)!;
}

/** Opens the backend of the Keyv store `name` (the server store wraps it; specs inspect through it). */
export async function openBackend(name: BackendName, options: AdapterOptions): Promise<Backend> {
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new ConfigError(`session store "${name}": timeoutMs must be a positive number of milliseconds`);
  }
  return keyvStoreNamed(name).open(options);
}
