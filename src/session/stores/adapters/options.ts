export interface AdapterOptions {
  /** redis (default "redis://127.0.0.1:6379"), postgres and mysql (required). */
  url?: string;
  /** redis: a Redis Cluster, by its root nodes, instead of `url` (redis_cluster.ts). */
  cluster?: RedisClusterOption;
  /** memcache: "host:port", "user:pass@host:port" or a comma-separated list (default "localhost:11211"). */
  memcacheServer?: string;
  /**
   * Connections per pool: postgres (pg.Pool `max`), mysql (`connectionLimit`). Default 10. memcache (memjs:
   * one pipelined socket per server) and redis (one multiplexed connection) have no pool: unused there.
   */
  poolSize?: number;
  /** sqlite: the database file (default "db/sessions.sqlite3"; its directory is created). */
  database?: string;
  /** Key prefix (default "stoat:sess"). For `keyv`, replaces the instance's own only when given. */
  namespace?: string;
  /** keyv: the user's Keyv instance. */
  keyv?: unknown;
  /** memory: most entries kept (default 10000); the least recently used goes first. */
  maxEntries?: number;
  /** Bound for connecting and for every command, in milliseconds. */
  timeoutMs: number;
  /** Default time to live of an entry (memory store's TTL purge), in milliseconds. */
  ttlMs: number;
}

/** The redis store's `cluster` option: any of the nodes, from which the others are discovered. */
export interface RedisClusterOption {
  rootNodes: readonly (string | { url: string })[];
}

export const DEFAULTS = {
  redisUrl: "redis://127.0.0.1:6379",
  memcacheServer: "localhost:11211",
  poolSize: 10,
  sqliteDatabase: "db/sessions.sqlite3",
  namespace: "stoat:sess",
  maxEntries: 10_000,
  /** The SQL table, shared with plain Keyv's adapters (`keyv`). */
  table: "keyv",
} as const;
