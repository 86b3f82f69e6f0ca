import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type { Knex } from "knex";
import { ConfigError } from "../../errors.js";
import { adapterImportError } from "../adapters/import_adapter.js";
import { Deadlines } from "../deadlines.js";
import { withTimeout } from "../keyv_backend.js";
import type { Dialect } from "./dialect.js";
import { mysqlSessionSettings } from "./mysql_driver.js";
import { describeFailure } from "./sql_errors.js";
import { SQLITE_PRAGMAS, type SqliteConnection } from "./sqlite_driver.js";

// The `database` store's Knex connection, for the schema (sessions:install), app.sessions and a row class:
// one Knex instance over the driver the URL names (sqlite3, pg or mysql2, the drivers the Keyv adapters
// already bring, so no second SQLite build), with a bounded pool and every call bounded in time. Knex is
// imported when one of those first needs it, never by the request path of the built-in table
// (table_backend.ts), nor by an app that uses another store.

export const DEFAULT_URL = "sqlite://db/sessions.sqlite3";

/** The npm package of each dialect's driver (what Knex `require`s). */
export const DRIVERS: Readonly<Record<Dialect, string>> = {
  sqlite: "sqlite3",
  postgres: "pg",
  mysql: "mysql2",
};
const CLIENTS: Readonly<Record<Dialect, string>> = { sqlite: "sqlite3", postgres: "pg", mysql: "mysql2" };

export interface ParsedUrl {
  dialect: Dialect;
  /** sqlite: an absolute file path or ":memory:"; otherwise the URL as the driver takes it. */
  target: string;
}

/**
 * `sqlite://relative/path`, `sqlite:///absolute/path`, `sqlite://:memory:`, `postgres(ql)://...`,
 * `mysql://...` or `mariadb://...`. Not parsed with URL: a relative SQLite path is not a host.
 */
export function parseDatabaseUrl(url: string): ParsedUrl {
  const sqlite = /^sqlite3?:\/\/(.+)$/.exec(url);
  if (sqlite) {
    const path = sqlite[1]!.replace(/\?.*$/, "");
    return { dialect: "sqlite", target: path === ":memory:" ? path : resolve(path) };
  }
  if (/^postgres(ql)?:\/\/./.test(url)) return { dialect: "postgres", target: url };
  if (/^(mysql|mariadb):\/\/./.test(url))
    return { dialect: "mysql", target: url.replace(/^mariadb:/, "mysql:") };
  throw new ConfigError(
    `session store "database": url must start with sqlite://, postgres://, mysql:// or mariadb://, got ${JSON.stringify(url.replace(/\/\/[^@/]*@/, "//***@"))}`,
  );
}

export interface DatabaseOptions {
  url: string;
  /** Connections in the pool (SQLite: always one, which serialises writes as SQLite does anyway). */
  poolSize: number;
  /** Bound for acquiring a connection, connecting, and each statement, in milliseconds. */
  timeoutMs: number;
  /** The sessions table, for error messages. */
  table: string;
  /**
   * SQLite: the connection the table backend opened, which Knex then uses too (one connection per process,
   * and an in-memory database is the same one for the requests and for app.sessions). Closing Knex leaves
   * it open: its owner closes it.
   */
  sqliteConnection?: SqliteConnection;
}

/** A Knex instance with its dialect, the time format of its columns, and bounded, explained calls. */
export class Database {
  readonly dialect: Dialect;
  readonly knex: Knex;
  readonly timeoutMs: number;
  readonly #table: string;
  /** The bound of the request path's queries: one timer for all of them, as for the Keyv stores. */
  readonly #deadlines: Deadlines;

  constructor(dialect: Dialect, knex: Knex, options: DatabaseOptions) {
    this.dialect = dialect;
    this.knex = knex;
    this.timeoutMs = options.timeoutMs;
    this.#table = options.table;
    this.#deadlines = new Deadlines(options.timeoutMs);
  }

  /**
   * Runs a query (or schema change). Bounded by the timeout as a whole (waiting for a connection
   * included); a missing table or column becomes a ConfigError that says what to do, anything else a
   * SessionStoreUnavailableError (503), so a raw SQL error never reaches a response.
   */
  async run<T>(query: PromiseLike<unknown>, what: string, timeoutMs = this.timeoutMs): Promise<T> {
    try {
      // A schema change may take its own, longer bound. An inline arrow, not a named const: under tsx
      // (keepNames) a named closure costs a __name() call, on every statement here.
      return (await (timeoutMs === this.timeoutMs
        ? this.#deadlines.run(() => Promise.resolve(query))
        : withTimeout(Promise.resolve(query), timeoutMs))) as T;
    } catch (error) {
      throw describeFailure(error, { what, table: this.#table, dialect: this.dialect });
    }
  }

  /**
   * A time as its column holds it: a Date for PostgreSQL (timestamptz) and MySQL (DATETIME(3), the
   * connection in UTC); for SQLite, which has no time type, UTC text in SQLite's own format
   * ("YYYY-MM-DD HH:MM:SS.SSS"), readable and comparable with SQLite's date functions.
   */
  toTime(ms: number): Date | string {
    return toTime(this.dialect, ms);
  }

  fromTime(value: unknown): Date | undefined {
    if (value instanceof Date) return value;
    if (typeof value === "number") return new Date(value);
    if (typeof value === "string") {
      const iso = value.includes("T") ? value : value.replace(" ", "T");
      return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
    }
    return undefined;
  }

  close(): Promise<void> {
    return this.knex.destroy();
  }
}

/**
 * A time as its column holds it: a Date for PostgreSQL (timestamptz) and MySQL (DATETIME(3), the connection
 * in UTC); for SQLite, which has no time type, UTC text in SQLite's own format ("YYYY-MM-DD HH:MM:SS.SSS"),
 * readable and comparable with SQLite's date functions.
 */
export function toTime(dialect: Dialect, ms: number): Date | string {
  const date = new Date(ms);
  return dialect === "sqlite" ? date.toISOString().replace("T", " ").replace("Z", "") : date;
}

/** Creates the SQLite file's directory (a ConfigError when it cannot be). */
export function ensureSqliteDirectory(target: string): void {
  if (target === ":memory:") return;
  try {
    mkdirSync(dirname(target), { recursive: true });
  } catch (error) {
    throw new ConfigError(
      `session store "database": cannot create the directory of ${target}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Loads Knex and the URL's driver, creates the SQLite file's directory, and configures the pool. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { dialect, target } = parseDatabaseUrl(options.url);
  const { default: knex } = (await import("knex")) as unknown as { default: (config: Knex.Config) => Knex };
  loadDriver(dialect, createRequire(import.meta.url).resolve("knex"));
  const { timeoutMs } = options;
  if (dialect === "sqlite") ensureSqliteDirectory(target);
  const shared = dialect === "sqlite" ? options.sqliteConnection : undefined;
  const instance = knex({
    client: shared ? await sharedSqliteClient(shared) : CLIENTS[dialect],
    connection: connectionSettings(dialect, target, timeoutMs),
    useNullAsDefault: dialect === "sqlite",
    // Waiting for a free connection is bounded like everything else.
    acquireConnectionTimeout: timeoutMs,
    // Error messages show the SQL with placeholders, never the bound values (session data, hashed ids).
    compileSqlOnError: false,
    // Knex warns (with a stack trace) on every failed connection attempt and on every pooled connection
    // found dead; the pool replaces the dead ones by itself, and a failure that reaches a request is
    // reported there (a SessionStoreUnavailableError on the app's "error" event), once.
    log: { warn: warnUnlessConnectionNoise },
    pool: {
      // No idle connection is kept open by force: a database restarted meanwhile costs nothing.
      min: dialect === "sqlite" && target === ":memory:" && !shared ? 1 : 0,
      // SQLite: one connection (one writer anyway; an in-memory database lives in its connection).
      max: dialect === "sqlite" ? 1 : options.poolSize,
      createTimeoutMillis: timeoutMs,
      idleTimeoutMillis: target === ":memory:" ? 2 ** 31 - 1 : 30_000,
      // A failed connect rejects the waiting query at once (503) instead of retrying until the timeout;
      // the next query tries a new connection, so the store recovers by itself when the database is back.
      propagateCreateError: true,
      afterCreate: afterCreate(dialect, timeoutMs, target === ":memory:"),
    },
  });
  return new Database(dialect, instance, options);
}

/** Knex's SQLite client on a connection opened elsewhere, which it never opens nor closes itself. */
async function sharedSqliteClient(connection: SqliteConnection): Promise<Knex.Config["client"]> {
  // Knex's own SQLite client (it has no exports map; this path is part of its published files).
  const client = "knex/lib/dialects/sqlite3/index.js";
  const { default: Sqlite3Client } = (await import(client)) as {
    default: new (...args: never[]) => object;
  };
  return class SharedSqlite3Client extends Sqlite3Client {
    acquireRawConnection() {
      return Promise.resolve(connection);
    }
    async destroyRawConnection() {}
  } as unknown as Knex.Config["client"];
}

function warnUnlessConnectionNoise(message: unknown): void {
  if (!/^(Acquire connection error|Connection Error): /.test(String(message))) console.warn(message);
}

function connectionSettings(dialect: Dialect, target: string, timeoutMs: number): Knex.Config["connection"] {
  switch (dialect) {
    case "sqlite":
      return { filename: target };
    case "postgres":
      return {
        connectionString: target,
        connectionTimeoutMillis: timeoutMs,
        // Server side, per statement (client side, Database#run bounds every call; schema changes run
        // with a longer bound, see schema.ts).
        statement_timeout: timeoutMs,
        keepAlive: true,
        application_name: `stoat-session:${process.pid}`,
      } as Knex.PgConnectionConfig;
    case "mysql":
      return {
        uri: target,
        connectTimeout: timeoutMs,
        charset: "utf8mb4", // emoji and every other 4-byte character, in data and user ids
        timezone: "Z", // DATETIME columns hold UTC, whatever the server's or the process's zone
        enableKeepAlive: true,
      } as unknown as Knex.MySql2ConnectionConfig;
  }
}

type RawConnection = {
  configure?(option: string, value: number): void;
  query?(sql: string, callback: (error: Error | null) => void): void;
  exec?(sql: string, callback: (error: Error | null) => void): void;
};

/** Per-connection settings Knex's config cannot express. */
function afterCreate(dialect: Dialect, timeoutMs: number, memory: boolean) {
  return (connection: RawConnection, done: (error: Error | null, connection: RawConnection) => void) => {
    if (dialect === "sqlite") {
      // Another process (the CLI's sessions:expire, a second server) holding the write lock: wait, bounded.
      connection.configure?.("busyTimeout", timeoutMs);
      if (!memory && connection.exec) connection.exec(SQLITE_PRAGMAS, (error) => done(error, connection));
      else done(null, connection);
    } else if (dialect === "mysql") {
      // Strict mode and a bounded row-lock wait, as on the table backend's connections.
      connection.query!(mysqlSessionSettings(timeoutMs), (error) => done(error, connection));
    } else {
      done(null, connection);
    }
  };
}

/**
 * Loads the URL's driver as a module resolved from `from` (Stoat's own place, or Knex's, where Knex will
 * look for it), so a missing one (or a sqlite3 whose native part was never built) is a ConfigError at boot
 * naming the package, not a failure on the first request.
 */
export function loadDriver<T>(dialect: Dialect, from: string = import.meta.url): T {
  const driver = DRIVERS[dialect];
  try {
    return createRequire(from)(driver) as T;
  } catch (error) {
    const explained = adapterImportError("database", driver, error);
    if (explained instanceof ConfigError) throw explained;
    throw new ConfigError(
      `session store "database": the driver ${driver} failed to load: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
