import { SessionOverflowError } from "../../errors.js";
import type { Backend, Versioned, WriteOf } from "../backend.js";
import { Deadlines } from "../deadlines.js";
import { ensureSqliteDirectory, loadDriver, parseDatabaseUrl, toTime } from "./connection.js";
import type { Dialect } from "./dialect.js";
import { type Mysql2Module, MysqlDriver } from "./mysql_driver.js";
import { type PgModule, PostgresDriver } from "./postgres_driver.js";
import { describeFailure } from "./sql_errors.js";
import { openSqlite, type SqliteConnection, type SqliteModule } from "./sqlite_driver.js";
import type { TableLayout } from "./table.js";
import { type Driver, type Statement, type TableStatements, tableStatements } from "./table_statements.js";

// The built-in sessions table as a persistence under the one server-side core, straight on the driver: each
// operation is one round trip on a statement prepared once (no query building per request). The data
// column is the version: every encoding carries a fresh IV, so "update where data is still what I read" is
// a compare-and-set with no version column. The columns beside data (user_id, expires_at, updated_at,
// created_at on insert) come from the record being written. Knex keeps the schema and app.sessions.

/** The user_id column's width. */
const USER_ID_BYTES = 255;

export interface TableBackendOptions {
  url: string;
  layout: TableLayout;
  /** Connections in the pool (SQLite: one). */
  poolSize: number;
  /** Bound of every call, waiting for a connection and connecting included, in milliseconds. */
  timeoutMs: number;
  /** The session key copied into user_id. */
  userKey: string;
  /** What else close() ends first (the admin's Knex, which may share the SQLite connection). */
  beforeClose?: () => Promise<void>;
}

export class TableBackend implements Backend {
  readonly dialect: Dialect;
  /** The driver the statements run on (a spec may count what it runs). */
  readonly driver: Driver;
  readonly #statements: TableStatements;
  readonly #layout: TableLayout;
  readonly #userKey: string;
  /** The bound of every call: one timer for all of them, as for the Keyv stores. */
  readonly #deadlines: Deadlines;
  readonly #beforeClose: (() => Promise<void>) | undefined;

  constructor(dialect: Dialect, driver: Driver, options: Omit<TableBackendOptions, "url" | "poolSize">) {
    this.dialect = dialect;
    this.driver = driver;
    this.#layout = options.layout;
    this.#userKey = options.userKey;
    this.#statements = tableStatements(dialect, options.layout);
    this.#deadlines = new Deadlines(options.timeoutMs);
    this.#beforeClose = options.beforeClose;
  }

  /** One indexed query (by the session id column). */
  get(key: string): Promise<string | undefined> {
    return this.#run("read", () => this.driver.value(this.#statements.select, [key]));
  }

  getVersioned(key: string): Promise<Versioned | undefined> {
    return this.get(key).then((data) => (data === undefined ? undefined : { value: data, version: data }));
  }

  /** A new key is a plain INSERT; otherwise one INSERT that updates the row when the key is taken. */
  async set(key: string, value: string, _ttlMs: number, of?: WriteOf): Promise<void> {
    const statement = of?.fresh ? this.#statements.insert : this.#statements.upsert;
    const values = this.#insertValues(key, value, of);
    await this.#run("write", () => this.driver.change(statement, values));
  }

  /**
   * UPDATE ... WHERE session_id = ? AND data = ?: the previous data is an exact version. MySQL compares
   * bytes: a case-insensitive collation must not take a changed value for the old one. Written: the
   * version is now `next` (the data column is the version).
   */
  compareAndSet(
    key: string,
    expected: string,
    next: string,
    _ttlMs: number,
    of?: WriteOf,
  ): Promise<string | false> {
    let values: unknown[];
    try {
      const columns = this.#columns(of);
      values = [next, columns.userId, columns.updatedAt, columns.expiresAt, key, expected];
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#run("write", () => this.driver.change(this.#statements.update, values)).then(
      (changed) => changed === 1 && next,
    );
  }

  /**
   * cycleKey: the old row is deleted in one statement and only the request whose DELETE removed it
   * inserts the new one, so parallel cycles end on one id. The DELETE is by id alone: a change another
   * request made to the old row in between is not merged into the new one.
   */
  async compareAndMove(
    from: string,
    _expected: string,
    to: string,
    next: string,
    _ttlMs: number,
    of?: WriteOf,
  ): Promise<boolean> {
    if ((await this.#remove(from)) !== 1) return false;
    const values = this.#insertValues(to, next, of);
    await this.#run("write", () => this.driver.change(this.#statements.insert, values));
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#remove(key)) > 0;
  }

  async close(): Promise<void> {
    try {
      await this.#beforeClose?.();
    } finally {
      await this.driver.close();
    }
  }

  #remove(key: string): Promise<number> {
    return this.#run("delete", () => this.driver.change(this.#statements.remove, [key]));
  }

  #insertValues(key: string, value: string, of: WriteOf | undefined): unknown[] {
    const columns = this.#columns(of);
    return [key, value, columns.userId, columns.updatedAt, columns.expiresAt, columns.updatedAt];
  }

  /** user_id from the userKey (bounded by its column), updated_at and expires_at, as their columns hold them. */
  #columns(of: WriteOf | undefined) {
    const userId = of?.record.data.get(this.#userKey) ?? null;
    if (userId !== null && Buffer.byteLength(userId) > USER_ID_BYTES) {
      throw new SessionOverflowError(
        `session key ${JSON.stringify(this.#userKey)} holds ${Buffer.byteLength(userId)} bytes; the user_id column holds ${USER_ID_BYTES}`,
      );
    }
    const dialect = this.dialect;
    return {
      userId,
      updatedAt: toTime(dialect, of?.now ?? Date.now()),
      // Without one (a write outside the session core), the row keeps its expiry.
      expiresAt: of === undefined ? null : toTime(dialect, of.expiresAt),
    };
  }

  /**
   * Bounded by the timeout as a whole (waiting for a connection included); a missing table or column
   * becomes a ConfigError that says what to do, anything else a SessionStoreUnavailableError (503).
   */
  #run<T>(what: string, call: () => Promise<T>): Promise<T> {
    return this.#deadlines.run(call).then(undefined, (error: unknown) => {
      throw describeFailure(error, { what, table: this.#layout.table, dialect: this.dialect });
    });
  }
}

/** The statement a driver call runs (exported for specs that count them). */
export type { Statement };

/**
 * Loads the URL's driver (a ConfigError naming the package when it is missing) and opens the table
 * backend. SQLite opens its file now (an error is the caller's to explain); the servers connect on first use.
 */
export async function openTableBackend(options: TableBackendOptions): Promise<TableBackend> {
  const { dialect, target } = parseDatabaseUrl(options.url);
  const settings = { url: target, poolSize: options.poolSize, timeoutMs: options.timeoutMs };
  let driver: Driver;
  if (dialect === "sqlite") {
    ensureSqliteDirectory(target);
    driver = await openSqlite(loadDriver<SqliteModule>(dialect), target, options.timeoutMs);
  } else if (dialect === "postgres") {
    driver = new PostgresDriver(loadDriver<PgModule>(dialect), settings);
  } else {
    driver = new MysqlDriver(loadDriver<Mysql2Module>(dialect), settings);
  }
  return new TableBackend(dialect, driver, options);
}

/** The SQLite connection under a table backend, for Knex's admin calls to share (one per process). */
export function sqliteConnectionOf(backend: TableBackend): SqliteConnection | undefined {
  return "connection" in backend.driver ? (backend.driver.connection as SqliteConnection) : undefined;
}
