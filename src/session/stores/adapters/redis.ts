import { createHash } from "node:crypto";
import { type EventEmitter, once } from "node:events";
import type { KeyvStoreAdapter } from "keyv";
import { ConfigError } from "../../errors.js";
import type { Backend } from "../backend.js";
import { KeyvBackend, withTimeout } from "../keyv_backend.js";
import { defineStore } from "./definition.js";
import { type AdapterClass, type Emitter, importAdapter, keyvClass } from "./import_adapter.js";
import { type AdapterOptions, DEFAULTS } from "./options.js";
import { checkRedisCluster, clusterClientOptions, clusterOpener } from "./redis_cluster.js";
import { urlRule } from "./util.js";

const PACKAGE = "@keyv/redis";

// redis: node-redis queues commands forever while disconnected and @keyv/redis answers no-op values. We
// build the client ourselves (disableOfflineQueue, connectTimeout, a bounded reconnect delay that retries
// forever, a bounded command queue), connect it in the background, and turn on @keyv/redis's
// throwOnErrors/throwOnConnectError. A command issued while Redis is down fails at once with "The client
// is offline"; when Redis is back the client reconnects by itself. With `cluster` (root nodes instead of a
// url), the same options go to every node's client (redis_cluster.ts) and cycleKey moves in two steps (below).

interface RedisClient extends Emitter {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { expiration: { type: "PX"; value: number } }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}
interface RedisAdapter extends KeyvStoreAdapter {
  createKeyPrefix(key: string, namespace: string | undefined): string;
  getClient(): Promise<unknown>;
  emit(event: "error", error: unknown): unknown;
}

// Compare-and-set on the exact stored string: Redis runs a script atomically, so nothing can write the key
// between the GET and the SET. A key that is gone (destroyed, or expired by PX) compares unequal: a
// compare-and-set never brings a deleted session back.
const CAS_SCRIPT =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";
// cycleKey: the old record goes and the new one comes in one step, only if the old is as this request read it.
const MOVE_SCRIPT =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";
// In a cluster a script may only touch keys of one hash slot, and two random ids hash to different slots
// (CROSSSLOT), so there cycleKey moves as the database store does: first this compare-and-delete of the old
// key, and only the caller whose delete succeeded writes the new key. Of parallel cycles exactly one deletes,
// so exactly one new id holds the data, and a destroyed (or changed) old key is never moved. The price is a
// window between the two steps: a process dying there (or the SET failing) loses that session (its user is
// signed out); it is never duplicated.
const TAKE_SCRIPT =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end return 0";

/** EVALSHA, falling back to EVAL (which also loads the script) when the server does not have it cached. */
function runScript(client: RedisClient, script: string, keys: string[], args: string[]): Promise<boolean> {
  const options = { keys, arguments: args };
  return client.evalSha(scriptSha(script), options).then(
    (result) => result === 1,
    (error: unknown) => {
      if (!String((error as Error)?.message).includes("NOSCRIPT")) throw error;
      return client.eval(script, options).then((result) => result === 1);
    },
  );
}

const shas = new Map<string, string>();
function scriptSha(script: string): string {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash("sha1").update(script).digest("hex");
    shas.set(script, sha);
  }
  return sha;
}
interface RedisModule {
  default: AdapterClass<RedisAdapter, [client: RedisClient, options: Record<string, unknown>]>;
  createClient(options: Record<string, unknown>): RedisClient;
  createCluster(options: Record<string, unknown>): RedisClient;
}

/** Redis reconnect delay: exponential from 100 ms, capped at 2 s, with jitter; never gives up. */
export function redisReconnectDelay(retries: number): number {
  return Math.min(100 * 2 ** Math.min(retries, 5), 2000) + Math.floor(Math.random() * 100);
}

export async function openRedis(options: AdapterOptions): Promise<Backend> {
  const {
    default: KeyvRedis,
    createClient,
    createCluster,
  } = await importAdapter<RedisModule>("redis", PACKAGE);
  const Keyv = await keyvClass();
  const { timeoutMs, cluster } = options;
  const clientOptions = {
    // Reject commands at once while disconnected instead of queueing them until Redis comes back.
    disableOfflineQueue: true,
    // While connected, a slow server cannot make the queue grow without limit either.
    commandsQueueMaxLength: 10_000,
    // No node-redis command timeout: it costs an AbortSignal.timeout per command (a timer that fires, with a
    // DOMException, timeoutMs later even when the reply came in a millisecond: a cost on every request), and
    // it only dropped commands still unwritten (none once sent, and node-redis has no reply timeout).
    // KeyvBackend bounds every whole call (Deadlines); an abandoned command may still run when a stalled
    // Redis drains, as a sent one always could (a late compare-and-set still writes only onto what it read).
    commandOptions: undefined,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: redisReconnectDelay },
  };
  let client: RedisClient;
  try {
    client = cluster
      ? createCluster(clusterClientOptions(cluster, clientOptions))
      : createClient({ url: options.url ?? DEFAULTS.redisUrl, ...clientOptions });
  } catch (error) {
    const what = cluster ? "cluster" : "url";
    throw new ConfigError(`session store "redis": bad ${what} (${(error as Error).message})`, {
      cause: error,
    });
  }
  const adapter = new KeyvRedis(client, {
    throwOnErrors: true,
    throwOnConnectError: true,
    connectionTimeout: timeoutMs,
  });
  // A single-node client is open from connect() on and reconnects by itself; a cluster connects on demand.
  const open = cluster ? clusterOpener(client) : () => Promise.resolve();
  // A cluster's calls wait for its discovery; a single client's go straight to it, without a hop through
  // open() (an extra promise and microtask per call on the request path).
  const whenOpen = <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    cluster
      ? async (...args: A): Promise<R> => {
          await open();
          return call(...args);
        }
      : call;
  if (cluster) {
    adapter.getClient = async () => {
      await open();
      return client;
    };
    // A node's connection errors arrive as "node-error": report them as the store's, like a single client's.
    (client as unknown as EventEmitter).on("node-error", (error: unknown) => adapter.emit("error", error));
  }
  // @keyv/redis prefixes keys itself ("<namespace>::<key>"), so Keyv must not add its own prefix.
  const namespace = options.namespace ?? DEFAULTS.namespace;
  const keyv = new Keyv({ store: adapter, namespace, useKeyPrefix: false });
  const redisKey = (key: string) => adapter.createKeyPrefix(key, namespace);
  const backend = new KeyvBackend(keyv, {
    name: "redis",
    timeoutMs,
    close: async () => {
      if (client.isOpen) await client.close();
    },
    destroy: () => {
      if (client.isOpen) client.destroy();
    },
    raw: {
      get: whenOpen((key) => client.get(redisKey(key))),
      compareAndSet: whenOpen((key, expected, next, ttlMs) =>
        runScript(client, CAS_SCRIPT, [redisKey(key)], [expected, next, String(ttlMs)]),
      ),
      compareAndMove: cluster
        ? whenOpen(async (from, expected, to, next, ttlMs) => {
            if (!(await runScript(client, TAKE_SCRIPT, [redisKey(from)], [expected]))) return false;
            await client.set(redisKey(to), next, { expiration: { type: "PX", value: ttlMs } });
            return true;
          })
        : (from, expected, to, next, ttlMs) =>
            runScript(client, MOVE_SCRIPT, [redisKey(from), redisKey(to)], [expected, next, String(ttlMs)]),
    },
  });
  // Connect in the background: while Redis is unreachable the client keeps retrying (every call fails fast
  // meanwhile), so an app can boot before its Redis and recovers without a restart. The first attempt gets
  // up to timeoutMs so that a healthy Redis is ready before the first request. A cluster's discovery, when
  // it fails, is retried by the next call (clusterOpener).
  if (cluster) {
    await withTimeout(open(), timeoutMs).catch(() => {});
  } else {
    const ready = once(client as unknown as EventEmitter, "ready", {
      signal: AbortSignal.timeout(timeoutMs),
    });
    client.connect().catch(() => {}); // rejects only if the reconnect strategy gives up, which ours never does
    await ready.catch(() => {});
  }
  return backend;
}

export const redisStore = defineStore({
  name: "redis",
  package: PACKAGE,
  rules: { url: urlRule(["redis", "rediss"]), cluster: { check: checkRedisCluster } },
  // One server or a cluster: both would leave it to guess which the app meant.
  check(given) {
    if (given.url !== undefined && given.cluster !== undefined) {
      throw new ConfigError(
        'session store "redis" takes `url` (one server) or `cluster` (its root nodes), not both',
      );
    }
  },
  open: openRedis,
});
