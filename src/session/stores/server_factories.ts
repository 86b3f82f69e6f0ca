import { ConfigError } from "../errors.js";
import { expiryOf } from "../expiry.js";
import type { SerializerName } from "../sealing/codec.js";
import { type Rule, rules, type Schema } from "../validation.js";
import { openBackend } from "./adapters/index.js";
import type { RedisClusterOption } from "./adapters/options.js";
import { checkRedisCluster } from "./adapters/redis_cluster.js";
import { ServerStore } from "./server_store.js";
import type { StoreFactory } from "./store.js";

// The server-side store names (docs/stores.md): each a Keyv backend behind the one ServerStore layer.
// Every store takes `encrypt`, `serializer` and `timeout`, plus the options of its backend.

export type ServerStoreName = "memory" | "redis" | "memcache" | "sqlite" | "postgres" | "mysql" | "keyv";

const URL_RULE = (schemes: string[]): Rule =>
  rules.string(
    new RegExp(`^(${schemes.join("|")})://`),
    `a URL starting with ${schemes.map((s) => `${s}://`).join(" or ")}`,
  );

/** Options every server-side store takes (the `database` store all but namespace: it has a table). */
export const common: Schema = {
  encrypt: rules.boolean(),
  serializer: rules.oneOf("msgpack", "json"),
  timeout: {
    check: (v) =>
      typeof v === "number" && v > 0 && v <= 60 ? undefined : "a number of seconds above 0, at most 60",
  },
  namespace: rules.string(/^[\w:.-]{1,64}$/, "letters, digits and _ : . - (at most 64)"),
};

const own: Record<ServerStoreName, Schema> = {
  memory: { maxEntries: rules.wholeNumber(1, 10_000_000) },
  redis: { url: URL_RULE(["redis", "rediss"]), cluster: { check: checkRedisCluster } },
  memcache: {
    memcacheServer: rules.string(/^[\w.-]+(:\d+)?$/, 'a "host:port" such as "localhost:11211"'),
    poolSize: rules.wholeNumber(1, 100),
  },
  sqlite: { database: rules.string(/^.+$/, "a file path") },
  postgres: { url: URL_RULE(["postgres", "postgresql"]), poolSize: rules.wholeNumber(1, 100) },
  mysql: { url: URL_RULE(["mysql", "mariadb"]), poolSize: rules.wholeNumber(1, 100) },
  keyv: { keyv: { check: (v) => (typeof v === "object" && v !== null ? undefined : "a Keyv instance") } },
};

export function serverStoreFactory(name: ServerStoreName): StoreFactory {
  return {
    rules: { ...common, ...own[name] },
    create(options, given) {
      // Checked here, before anything is opened, so that it fails at boot like a bad value.
      if (name === "redis" && given.url !== undefined && given.cluster !== undefined) {
        throw new ConfigError(
          'session store "redis" takes `url` (one server) or `cluster` (its root nodes), not both',
        );
      }
      return openStore(name, options, given);
    },
  };
}

async function openStore(
  name: ServerStoreName,
  options: Parameters<StoreFactory["create"]>[0],
  given: Record<string, unknown>,
): Promise<ServerStore> {
  const timeoutMs = Math.round(((given.timeout as number | undefined) ?? 2) * 1000);
  const backend = await openBackend(name, {
    url: given.url as string | undefined,
    cluster: given.cluster as RedisClusterOption | undefined,
    memcacheServer: given.memcacheServer as string | undefined,
    poolSize: given.poolSize as number | undefined,
    database: given.database as string | undefined,
    namespace: given.namespace as string | undefined,
    keyv: given.keyv,
    maxEntries: given.maxEntries as number | undefined,
    timeoutMs,
    ttlMs: options.expireAfter * 1000,
  });
  return new ServerStore(name, backend, {
    secrets: options.secrets,
    encrypt: (given.encrypt as boolean | undefined) ?? true,
    serializer: (given.serializer as SerializerName | undefined) ?? "msgpack",
    expiry: (record, now) => expiryOf(record, options, now),
  });
}

export const SERVER_STORE_NAMES: readonly ServerStoreName[] = Object.keys(own) as ServerStoreName[];
