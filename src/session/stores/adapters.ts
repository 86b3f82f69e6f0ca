import { EventEmitter, once } from "node:events";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type { Keyv, KeyvStoreAdapter } from "keyv";
import { ConfigError } from "../errors.js";
import type { Backend } from "./backend.js";
import { KeyvBackend } from "./keyv_backend.js";

// The Keyv backends of the server-side stores (DESIGN.md section 3). Each adapter is an optional peer
// dependency, imported here only when its store is configured. The adapters' defaults are not safe for a
// session store (issue 3, point 4), so every one is configured, and in places patched, to fail fast:
//
// - redis: node-redis queues commands forever while disconnected and @keyv/redis answers no-op values. We
//   build the client ourselves (disableOfflineQueue, connectTimeout, a bounded reconnect delay that retries
//   forever, a bounded command queue), connect it in the background, and turn on @keyv/redis's
//   throwOnErrors/throwOnConnectError. A command issued while Redis is down fails at once with "The client
//   is offline"; when Redis is back the client reconnects by itself.
// - memcache: memjs's per-request `timeout` and `conntimeout` (seconds), one attempt (`retries: 1`), an
//   "error" listener (KeyvMemcache is an EventEmitter: an error with no listener crashes the process), TTLs
//   capped at 30 days (memcached reads more as a Unix date). `poolSize` has no memjs counterpart: memjs keeps
//   one pipelined socket per server, so it is accepted and unused.
// - sqlite: opened at boot (an embedded file that cannot be opened is a configuration error), busyTimeout.
// - postgres: @keyv/postgres keeps one module-global pg.Pool per URL, ended by any instance's disconnect(),
//   with no "error" listener (pg.Pool emits "error" when an idle client's connection drops, which crashes
//   the process) and a CREATE TABLE tried only once. We subclass it to use our own pool (max = poolSize,
//   connect, query and statement timeouts, an "error" listener) and to create the table on first use.
// - mysql: @keyv/mysql's constructor starts a module-global pool and a CREATE TABLE whose failure is an
//   unhandled rejection (a crash when MySQL is down at boot, and a backend that never recovers), and its
//   `value TEXT` column holds 64 KB. So this store uses a small adapter of ours over mysql2 (the driver
//   @keyv/mysql brings) with the same table layout (`id`, `value`), a MEDIUMTEXT utf8mb4 column, strict SQL
//   mode, pool and query timeouts.

export type BackendName = "memory" | "redis" | "memcache" | "sqlite" | "postgres" | "mysql" | "keyv";

export interface AdapterOptions {
  /** redis (default "redis://127.0.0.1:6379"), postgres and mysql (required). */
  url?: string;
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

/** The npm package each store needs. */
export const ADAPTER_PACKAGES: Readonly<Record<Exclude<BackendName, "keyv">, string>> = {
  memory: "lru-cache",
  redis: "@keyv/redis",
  memcache: "@keyv/memcache",
  sqlite: "@keyv/sqlite",
  postgres: "@keyv/postgres",
  mysql: "@keyv/mysql",
};

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

/** memcached reads an expiry above 30 days as a Unix timestamp. */
const MEMCACHE_MAX_TTL_MS = 30 * 24 * 3600 * 1000;

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

// ---------------------------------------------------------------------------------------------------------
// Lazy imports

/**
 * The package an ERR_MODULE_NOT_FOUND (ESM) or MODULE_NOT_FOUND (CommonJS) error says is missing, or
 * undefined for any other error (including a missing file inside an installed package).
 */
export function missingPackage(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ERR_MODULE_NOT_FOUND") return /^Cannot find package '([^']+)'/.exec(error.message)?.[1];
  if (code === "MODULE_NOT_FOUND") {
    const name = /^Cannot find module '([^']+)'/.exec(error.message)?.[1];
    // A bare specifier names a package; a path ('./x', '/x') is a file missing inside one.
    return name && !/^[./]/.test(name) ? packageOf(name) : undefined;
  }
  return undefined;
}

function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/**
 * Turns an error from importing `pkg` (the adapter of `store`) into the ConfigError a user can act on, or
 * returns it unchanged when it is something else.
 */
export function adapterImportError(store: string, pkg: string, error: unknown): unknown {
  const missing = missingPackage(error);
  if (missing === pkg) {
    return new ConfigError(
      `session store "${store}" needs the npm package ${pkg}, which is not installed: npm install ${pkg}`,
      { cause: error },
    );
  }
  if (missing) {
    return new ConfigError(
      `session store "${store}": ${pkg} is installed but its dependency ${missing} is missing; reinstall it: npm install ${pkg}`,
      { cause: error },
    );
  }
  if (error instanceof Error && error.message.startsWith("Could not locate the bindings file")) {
    // sqlite3 compiles at install time, and npm 11 runs a dependency's install script only when approved.
    return new ConfigError(
      `session store "${store}": the native module under ${pkg} was never built (npm 11 skips install scripts ` +
        "that package.json's allowScripts does not approve): npm install-scripts approve sqlite3 && npm rebuild sqlite3",
      { cause: error },
    );
  }
  return error;
}

/**
 * `import(pkg)` for the adapter of `store`, with a ConfigError naming the package when it is missing. The
 * specifier is a variable on purpose: TypeScript would otherwise resolve the optional package's types, and an
 * app that does not install it would fail to type-check.
 */
export async function importAdapter<T>(
  store: string,
  pkg: string,
  importer: (specifier: string) => Promise<unknown> = (specifier) => import(specifier),
): Promise<T> {
  try {
    return (await importer(pkg)) as T;
  } catch (error) {
    throw adapterImportError(store, pkg, error);
  }
}

/** `require(dependency)` as seen from `pkg`: the driver an adapter brings (pg, mysql2). */
function requireBeside<T>(store: string, pkg: string, dependency: string): T {
  try {
    const base = createRequire(import.meta.url).resolve(pkg);
    return createRequire(base)(dependency) as T;
  } catch (error) {
    throw adapterImportError(store, pkg, error);
  }
}

async function keyvClass(): Promise<typeof Keyv> {
  return (await import("keyv")).Keyv;
}

// ---------------------------------------------------------------------------------------------------------
// Structural types of the optional packages (see importAdapter for why they are not imported).

type Listener = (...args: never[]) => void;
interface Emitter {
  on(event: string, listener: Listener): unknown;
}
type AdapterClass<T, A extends unknown[]> = new (...args: A) => T;

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

interface SqliteAdapter extends KeyvStoreAdapter {
  query(sql: string, ...parameters: unknown[]): Promise<unknown>;
}
interface SqliteModule {
  default: AdapterClass<SqliteAdapter, [options: Record<string, unknown>]>;
}

type SqlQuery = (sql: string, values?: unknown[]) => Promise<unknown[]>;
interface PostgresAdapter extends KeyvStoreAdapter {
  connect(): Promise<SqlQuery>;
  disconnect(): Promise<void>;
}
interface PostgresModule {
  default: AdapterClass<PostgresAdapter, [options: Record<string, unknown>]>;
}
interface PgPool extends Emitter {
  query(sql: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<void>;
}
interface PgModule {
  Pool: new (options: Record<string, unknown>) => PgPool;
}

interface MysqlConnection extends Emitter {
  query(sql: string, callback: (error: Error | null) => void): unknown;
}
interface MysqlPool extends Emitter {
  query(
    options: { sql: string; values?: unknown[]; timeout?: number },
    callback: (error: (Error & { code?: string }) | null, result: unknown) => void,
  ): unknown;
  end(callback: (error: Error | null) => void): void;
}
interface Mysql2Module {
  createPool(options: Record<string, unknown>): MysqlPool;
}

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

// ---------------------------------------------------------------------------------------------------------
// Stores

async function openMemory(options: AdapterOptions): Promise<Backend> {
  const maxEntries = options.maxEntries ?? DEFAULTS.maxEntries;
  if (!(Number.isInteger(maxEntries) && maxEntries > 0)) {
    throw new ConfigError(
      `session store "memory": maxEntries must be a whole number above 0, got ${maxEntries}`,
    );
  }
  const { LRUCache } = await importAdapter<LruModule>("memory", ADAPTER_PACKAGES.memory);
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

/** Redis reconnect delay: exponential from 100 ms, capped at 2 s, with jitter; never gives up. */
export function redisReconnectDelay(retries: number): number {
  return Math.min(100 * 2 ** Math.min(retries, 5), 2000) + Math.floor(Math.random() * 100);
}

async function openRedis(options: AdapterOptions): Promise<Backend> {
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

async function openMemcache(options: AdapterOptions): Promise<Backend> {
  const { default: KeyvMemcache } = await importAdapter<MemcacheModule>(
    "memcache",
    ADAPTER_PACKAGES.memcache,
  );
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
    close: () => adapter.client.close(),
  });
}

async function openSqlite(options: AdapterOptions): Promise<Backend> {
  const { default: KeyvSqlite } = await importAdapter<SqliteModule>("sqlite", ADAPTER_PACKAGES.sqlite);
  const Keyv = await keyvClass();
  const given = options.database ?? DEFAULTS.sqliteDatabase;
  const file = given === ":memory:" ? given : resolve(given);
  if (file !== ":memory:") {
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (error) {
      throw new ConfigError(
        `session store "sqlite": cannot create the directory of ${file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: options.timeoutMs });
  // KeyvSqlite opens the file in its constructor and emits "error" if that fails: listen before anything else.
  (adapter as unknown as EventEmitter).on("error", () => {});
  // The first query waits for the file to open and the table to exist; it also handles the constructor's
  // promise, which would otherwise be an unhandled rejection when the file cannot be opened.
  const opened = adapter.query("SELECT 1");
  const keyv = new Keyv({ store: adapter, namespace: options.namespace ?? DEFAULTS.namespace });
  const backend = new KeyvBackend(keyv, { name: "sqlite", timeoutMs: options.timeoutMs });
  try {
    await withTimeout(opened, options.timeoutMs);
  } catch (error) {
    throw new ConfigError(`session store "sqlite": cannot open ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return backend;
}

async function openPostgres(options: AdapterOptions): Promise<Backend> {
  const url = requireUrl("postgres", options.url);
  const { default: KeyvPostgres } = await importAdapter<PostgresModule>(
    "postgres",
    ADAPTER_PACKAGES.postgres,
  );
  const pg = requireBeside<PgModule>("postgres", ADAPTER_PACKAGES.postgres, "pg");
  const Keyv = await keyvClass();
  const { timeoutMs } = options;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? DEFAULTS.poolSize,
    connectionTimeoutMillis: timeoutMs, // connecting, and waiting for a free client
    query_timeout: timeoutMs, // client side, per query
    statement_timeout: timeoutMs, // server side, per statement
    keepAlive: true,
    application_name: `stoat-session:${process.pid}`, // which process a connection belongs to, in pg_stat_activity
  });
  pool.on("error", () => {}); // an idle client lost its connection: the pool drops it and opens another
  const createTable = `CREATE TABLE IF NOT EXISTS public.${DEFAULTS.table}(key VARCHAR(255) PRIMARY KEY, value TEXT )`;
  const ensureTable = createOnce(async () => {
    try {
      await pool.query(createTable);
    } catch (error) {
      // Two processes creating the table at once: one of them gets a duplicate error, and the table exists.
      const code = (error as { code?: string }).code;
      if (code !== "23505" && code !== "42P07") throw error;
    }
  });
  const query: SqlQuery = async (sql, values) => {
    await ensureTable();
    return (await pool.query(sql, values)).rows;
  };

  class Postgres extends KeyvPostgres {
    // Called by the KeyvPostgres constructor: our pool instead of the module-global one.
    override async connect(): Promise<SqlQuery> {
      return query;
    }
    override async disconnect(): Promise<void> {
      await pool.end();
    }
  }

  const adapter = new Postgres({ uri: url, table: DEFAULTS.table, schema: "public" });
  (adapter as unknown as EventEmitter).on("error", () => {});
  const keyv = new Keyv({ store: adapter, namespace: options.namespace ?? DEFAULTS.namespace });
  return new KeyvBackend(keyv, { name: "postgres", timeoutMs });
}

async function openMysql(options: AdapterOptions): Promise<Backend> {
  const url = requireUrl("mysql", options.url);
  await importAdapter("mysql", ADAPTER_PACKAGES.mysql);
  const mysql2 = requireBeside<Mysql2Module>("mysql", ADAPTER_PACKAGES.mysql, "mysql2");
  const Keyv = await keyvClass();
  const poolSize = options.poolSize ?? DEFAULTS.poolSize;
  const pool = mysql2.createPool({
    uri: url.replace(/^mariadb:/, "mysql:"),
    connectionLimit: poolSize,
    waitForConnections: true,
    queueLimit: poolSize * 100, // requests waiting for a connection: bounded, then refused at once
    connectTimeout: options.timeoutMs,
    enableKeepAlive: true,
    charset: "utf8mb4",
  });
  const store = new MysqlStore(pool, DEFAULTS.table, options.timeoutMs);
  const keyv = new Keyv({
    store: store as unknown as KeyvStoreAdapter,
    namespace: options.namespace ?? DEFAULTS.namespace,
  });
  return new KeyvBackend(keyv, { name: "mysql", timeoutMs: options.timeoutMs });
}

async function openKeyv(options: AdapterOptions): Promise<Backend> {
  const Keyv = await keyvClass();
  const keyv = options.keyv;
  if (!(keyv instanceof Keyv || looksLikeKeyv(keyv))) {
    const got =
      typeof keyv === "object" && keyv !== null ? (keyv.constructor?.name ?? "an object") : String(keyv);
    throw new ConfigError(
      `session store "keyv" needs a Keyv instance as \`keyv\` (new Keyv(...)), got ${got}`,
    );
  }
  if (options.namespace !== undefined) keyv.namespace = options.namespace;
  // Adapters with their own switches (@keyv/redis): make them throw too.
  const store = keyv.opts.store as Record<string, unknown> | undefined;
  if (store && typeof store === "object") {
    if ("throwOnErrors" in store) store.throwOnErrors = true;
    if ("throwOnConnectError" in store) store.throwOnConnectError = true;
  }
  // The instance belongs to the app: closing the session store does not disconnect it.
  return new KeyvBackend(keyv, { name: "keyv", timeoutMs: options.timeoutMs, close: () => {} });
}

/** A Keyv from another copy of the package (instanceof fails across copies). */
function looksLikeKeyv(value: unknown): value is Keyv {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    ["get", "set", "delete", "on"].every((method) => typeof candidate[method] === "function") &&
    typeof candidate.opts === "object" &&
    candidate.opts !== null &&
    "store" in candidate.opts
  );
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function requireUrl(store: string, url: string | undefined): string {
  if (!url)
    throw new ConfigError(`session store "${store}" needs \`url\` (${store}://user@host:port/database)`);
  return url;
}

/** Runs `create` until it succeeds once; concurrent callers share the attempt, a failure is retried later. */
function createOnce(create: () => Promise<void>): () => Promise<void> {
  let attempt: Promise<void> | undefined;
  return () => {
    attempt ??= create().catch((error: unknown) => {
      attempt = undefined;
      throw error;
    });
    return attempt;
  };
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A Keyv storage adapter over a mysql2 pool, with @keyv/mysql's table layout (`id` VARCHAR(255) primary key,
 * `value`), so data written by either is read by the other. See the top of this file for why not KeyvMysql.
 */
class MysqlStore extends EventEmitter {
  namespace?: string;
  readonly opts: { dialect: string; table: string };
  readonly #pool: MysqlPool;
  readonly #table: string;
  readonly #timeoutMs: number;
  readonly #ensureTable: () => Promise<void>;

  constructor(pool: MysqlPool, table: string, timeoutMs: number) {
    super();
    this.opts = { dialect: "mysql", table };
    this.#pool = pool;
    this.#table = `\`${table.replace(/`/g, "``")}\``;
    this.#timeoutMs = timeoutMs;
    // Errors reach callers through the promises; these listeners only keep a stray "error" from crashing.
    this.on("error", () => {});
    pool.on("error", () => {});
    pool.on("connection", (connection: MysqlConnection) => {
      connection.on("error", () => {});
      // Never truncate silently: a value too long for its column fails the write, whatever the server's mode.
      connection.query(
        "SET SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, 'STRICT_ALL_TABLES')",
        () => {},
      );
    });
    this.#ensureTable = createOnce(async () => {
      await this.#query(
        `CREATE TABLE IF NOT EXISTS ${this.#table} (id VARCHAR(255) NOT NULL PRIMARY KEY, value MEDIUMTEXT NOT NULL) ` +
          "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
      );
    });
  }

  async get(key: string): Promise<string | undefined> {
    const rows = (await this.#run(`SELECT value FROM ${this.#table} WHERE id = ?`, [key])) as {
      value: string;
    }[];
    return rows[0]?.value;
  }

  async set(key: string, value: string): Promise<boolean> {
    await this.#run(
      `INSERT INTO ${this.#table} (id, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)`,
      [key, value],
    );
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const result = (await this.#run(`DELETE FROM ${this.#table} WHERE id = ?`, [key])) as {
      affectedRows: number;
    };
    return result.affectedRows > 0;
  }

  async clear(): Promise<void> {
    const prefix = this.namespace ? `${this.namespace.replace(/[\\%_]/g, "\\$&")}:%` : "%";
    await this.#run(`DELETE FROM ${this.#table} WHERE id LIKE ?`, [prefix]);
  }

  async disconnect(): Promise<void> {
    await new Promise<void>((resolvePromise, reject) => {
      this.#pool.end((error) => (error ? reject(error) : resolvePromise()));
    });
  }

  async #run(sql: string, values: unknown[]): Promise<unknown> {
    await this.#ensureTable();
    return this.#query(sql, values);
  }

  #query(sql: string, values?: unknown[]): Promise<unknown> {
    return new Promise((resolvePromise, reject) => {
      this.#pool.query({ sql, values, timeout: this.#timeoutMs }, (error, result) =>
        error ? reject(error) : resolvePromise(result),
      );
    });
  }
}
