import type { SessionOptions } from "stoat";
import { type BackendName, openBackend } from "../../src/session/stores/adapters/index.js";
import type { Backend } from "../../src/session/stores/backend.js";

/**
 * A second connection to what a Keyv-backed store keeps, opened from the same session options the app
 * was given, so a spec can look at the stored data without going through Stoat.
 */
export function inspectStore(name: BackendName, options: SessionOptions): Promise<Backend> {
  return openBackend(name, {
    url: options.url,
    memcacheServer: options.memcacheServer,
    database: options.database,
    namespace: options.namespace,
    keyv: options.keyv,
    timeoutMs: 2000,
    ttlMs: 60_000,
  });
}
