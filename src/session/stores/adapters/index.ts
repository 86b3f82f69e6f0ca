import { ConfigError } from "../../errors.js";
import type { Backend } from "../backend.js";
import { openKeyv } from "./keyv.js";
import { openMemcache } from "./memcache.js";
import { openMemory } from "./memory.js";
import { openMysql } from "./mysql.js";
import type { AdapterOptions, BackendName } from "./options.js";
import { openPostgres } from "./postgres.js";
import { openRedis } from "./redis.js";
import { openSqlite } from "./sqlite.js";

// The Keyv backends of the server-side stores (docs/stores.md). Each adapter is an optional peer
// dependency, imported only when its store is configured. The adapters' defaults are not safe for a session
// store (they hide a store that is down), so every one is configured, and in places patched, to fail fast:
// each store's file says how. The options and defaults live in options.ts so that the store files need not
// import this one (which imports them).

export { ADAPTER_PACKAGES, type AdapterOptions, type BackendName, DEFAULTS } from "./options.js";

export async function openBackend(name: BackendName, options: AdapterOptions): Promise<Backend> {
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new ConfigError(`session store "${name}": timeoutMs must be a positive number of milliseconds`);
  }
  switch (name) {
    case "memory":
      return openMemory(options);
    case "redis":
      return openRedis(options);
    case "memcache":
      return openMemcache(options);
    case "sqlite":
      return openSqlite(options);
    case "postgres":
      return openPostgres(options);
    case "mysql":
      return openMysql(options);
    case "keyv":
      return openKeyv(options);
    default:
      throw new ConfigError(`no session backend named ${JSON.stringify(name)}`);
  }
}
