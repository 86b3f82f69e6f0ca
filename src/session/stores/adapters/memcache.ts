import type { EventEmitter } from "node:events";
import type { KeyvStoreAdapter } from "keyv";
import { rules } from "../../validation.js";
import type { Backend } from "../backend.js";
import { KeyvBackend } from "../keyv_backend.js";
import { PooledBackend } from "../pooled_backend.js";
import { defineStore } from "./definition.js";
import { type AdapterClass, importAdapter, keyvClass } from "./import_adapter.js";
import { type AdapterOptions, DEFAULTS } from "./options.js";

const PACKAGE = "@keyv/memcache";

// memcache: memjs's per-request `timeout` and `conntimeout` (seconds), one attempt (`retries: 1`), an
// "error" listener (KeyvMemcache is an EventEmitter: an error with no listener crashes the process), TTLs
// capped at 30 days (memcached reads more as a Unix date). memjs keeps one socket per server, so `poolSize`
// (default 10) opens that many clients and spreads calls over them (PooledBackend).

/** memcached's default item limit is 1 MiB for key, value and Keyv's JSON wrapping together: keep a margin. */
const MEMCACHE_MAX_VALUE_BYTES = 1_000_000;

/** memcached reads an expiry above 30 days as a Unix timestamp. */
const MEMCACHE_MAX_TTL_MS = 30 * 24 * 3600 * 1000;

interface MemjsClient {
  get(key: string, callback: (error: Error | null, value: Buffer | null) => void): void;
  close(): void;
}
interface MemcacheAdapter extends KeyvStoreAdapter {
  client: MemjsClient;
  formatKey(key: string): string;
}
interface MemcacheModule {
  default: AdapterClass<MemcacheAdapter, [uri: string, options: Record<string, unknown>]>;
}

export async function openMemcache(options: AdapterOptions): Promise<Backend> {
  const { default: KeyvMemcache } = await importAdapter<MemcacheModule>("memcache", PACKAGE);
  const Keyv = await keyvClass();
  const seconds = options.timeoutMs / 1000;

  // KeyvMemcache#get answers `{ value: undefined, expires: 0 }` for a missing key, which Keyv reads as
  // expired and follows with a DELETE: one extra round trip per miss. This get answers undefined instead.
  class Memcache extends KeyvMemcache {
    override async get<Value>(key: string): Promise<Value> {
      return new Promise((resolvePromise, reject) => {
        this.client.get(this.formatKey(key), (error, value) => {
          if (error) reject(error);
          else resolvePromise((value === null ? undefined : value.toString("utf8")) as Value);
        });
      });
    }
  }

  const open = (): Backend => {
    const adapter = new Memcache(options.memcacheServer ?? DEFAULTS.memcacheServer, {
      timeout: seconds, // per request, after the socket is connected
      conntimeout: seconds,
      retries: 1, // memjs counts attempts: 1 means no retry
      keepAlive: true,
      // memjs logs every failure to the console by default; failures surface as thrown errors instead.
      logger: { log: () => {} },
    });
    (adapter as unknown as EventEmitter).on("error", () => {});
    const keyv = new Keyv({
      store: adapter,
      namespace: options.namespace ?? DEFAULTS.namespace,
      useKeyPrefix: false,
    });
    return new KeyvBackend(keyv, {
      name: "memcache",
      timeoutMs: options.timeoutMs,
      maxTtlMs: MEMCACHE_MAX_TTL_MS,
      maxValueBytes: MEMCACHE_MAX_VALUE_BYTES,
      close: () => adapter.client.close(),
    });
  };
  const size = options.poolSize ?? DEFAULTS.poolSize;
  return size === 1 ? open() : new PooledBackend(Array.from({ length: size }, open));
}

export const memcacheStore = defineStore({
  name: "memcache",
  package: PACKAGE,
  rules: {
    memcacheServer: rules.string(/^[\w.-]+(:\d+)?$/, 'a "host:port" such as "localhost:11211"'),
    poolSize: rules.wholeNumber(1, 100),
  },
  open: openMemcache,
});
