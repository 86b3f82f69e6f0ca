import { type EventEmitter, once } from "node:events";
import type { KeyvStoreAdapter } from "keyv";
import { ConfigError } from "../../errors.js";
import type { Backend } from "../backend.js";
import { KeyvBackend } from "../keyv_backend.js";
import { type AdapterClass, type Emitter, importAdapter, keyvClass } from "./import_adapter.js";
import { ADAPTER_PACKAGES, type AdapterOptions, DEFAULTS } from "./options.js";

// redis: node-redis queues commands forever while disconnected and @keyv/redis answers no-op values. We
// build the client ourselves (disableOfflineQueue, connectTimeout, a bounded reconnect delay that retries
// forever, a bounded command queue), connect it in the background, and turn on @keyv/redis's
// throwOnErrors/throwOnConnectError. A command issued while Redis is down fails at once with "The client
// is offline"; when Redis is back the client reconnects by itself.

interface RedisClient extends Emitter {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
}
interface RedisModule {
  default: AdapterClass<KeyvStoreAdapter, [client: RedisClient, options: Record<string, unknown>]>;
  createClient(options: Record<string, unknown>): RedisClient;
}

/** Redis reconnect delay: exponential from 100 ms, capped at 2 s, with jitter; never gives up. */
export function redisReconnectDelay(retries: number): number {
  return Math.min(100 * 2 ** Math.min(retries, 5), 2000) + Math.floor(Math.random() * 100);
}

export async function openRedis(options: AdapterOptions): Promise<Backend> {
  const { default: KeyvRedis, createClient } = await importAdapter<RedisModule>(
    "redis",
    ADAPTER_PACKAGES.redis,
  );
  const Keyv = await keyvClass();
  const { timeoutMs } = options;
  let client: RedisClient;
  try {
    client = createClient({
      url: options.url ?? DEFAULTS.redisUrl,
      // Reject commands at once while disconnected instead of queueing them until Redis comes back.
      disableOfflineQueue: true,
      // While connected, a slow server cannot make the queue grow without limit either.
      commandsQueueMaxLength: 10_000,
      // Drops a command still waiting to be written after timeoutMs (node-redis has no reply timeout:
      // KeyvBackend bounds the whole call).
      commandOptions: { timeout: timeoutMs },
      socket: { connectTimeout: timeoutMs, reconnectStrategy: redisReconnectDelay },
    });
  } catch (error) {
    throw new ConfigError(`session store "redis": bad url (${(error as Error).message})`, { cause: error });
  }
  const adapter = new KeyvRedis(client, {
    throwOnErrors: true,
    throwOnConnectError: true,
    connectionTimeout: timeoutMs,
  });
  // @keyv/redis prefixes keys itself ("<namespace>::<key>"), so Keyv must not add its own prefix.
  const keyv = new Keyv({
    store: adapter,
    namespace: options.namespace ?? DEFAULTS.namespace,
    useKeyPrefix: false,
  });
  const backend = new KeyvBackend(keyv, {
    name: "redis",
    timeoutMs,
    close: async () => {
      if (client.isOpen) await client.close();
    },
    destroy: () => {
      if (client.isOpen) client.destroy();
    },
  });
  // Connect in the background: while Redis is unreachable the client keeps retrying (every call fails fast
  // meanwhile), so an app can boot before its Redis and recovers without a restart. The first attempt gets
  // up to timeoutMs so that a healthy Redis is ready before the first request.
  const ready = once(client as unknown as EventEmitter, "ready", { signal: AbortSignal.timeout(timeoutMs) });
  client.connect().catch(() => {}); // rejects only if the reconnect strategy gives up, which ours never does
  await ready.catch(() => {});
  return backend;
}
