import type { Driver, Statement } from "./table_statements.js";

// The table backend on SQLite: the sqlite3 driver's own connection (one per process: SQLite has one writer
// anyway) and its prepared statements, each prepared on first use and then run as often as asked.

interface RunResult {
  changes: number;
}
interface SqliteStatement {
  all(values: readonly unknown[], callback: (error: Error | null, rows: { value?: unknown }[]) => void): void;
  run(values: readonly unknown[], callback: (this: RunResult, error: Error | null) => void): void;
  finalize(callback?: (error: Error | null) => void): void;
}
/** The sqlite3 Database, as far as this store uses it (Knex's admin connection is this one too). */
export interface SqliteConnection {
  configure(option: "busyTimeout", value: number): void;
  exec(sql: string, callback: (error: Error | null) => void): void;
  prepare(sql: string, callback: (error: Error | null) => void): SqliteStatement;
  close(callback: (error: Error | null) => void): void;
}
export interface SqliteModule {
  Database: new (filename: string, callback: (error: Error | null) => void) => SqliteConnection;
}

/**
 * SQLite file settings. With the default rollback journal every commit is a fully synced write of the
 * journal and of the database (several fsyncs), and a reader waits for a writer, so an app that writes its
 * session on every request is held to the disk's pace. WAL appends each commit to one log, readers never
 * block the writer (nor other processes' readers), and synchronous=NORMAL syncs that log at checkpoints
 * rather than on every commit: a crash of the process loses nothing, a power loss may lose the last commits
 * (sessions written just before it), never corrupts the file. Rails' SQLite defaults are the same. WAL is a
 * property of the file, kept once set; like any SQLite file in WAL mode it must not live on a network file
 * system.
 */
export const SQLITE_PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";

/** Opens the file (or memory), waits up to `timeoutMs` for another process's write lock, and sets WAL. */
export async function openSqlite(
  sqlite: SqliteModule,
  target: string,
  timeoutMs: number,
): Promise<SqliteDriver> {
  const connection = await new Promise<SqliteConnection>((resolve, reject) => {
    const opened: SqliteConnection = new sqlite.Database(target, (error) =>
      error ? reject(error) : resolve(opened),
    );
  });
  // Another process (the CLI's sessions:expire, a second server) holding the write lock: wait, bounded.
  connection.configure("busyTimeout", timeoutMs);
  // The pragmas also read the file: one that is not a database fails here, at boot.
  const pragmas = target === ":memory:" ? "SELECT 1" : SQLITE_PRAGMAS;
  try {
    await new Promise<void>((resolve, reject) =>
      connection.exec(pragmas, (error) => (error ? reject(error) : resolve())),
    );
  } catch (error) {
    await new Promise((resolve) => connection.close(resolve));
    throw error;
  }
  return new SqliteDriver(connection);
}

export class SqliteDriver implements Driver {
  readonly connection: SqliteConnection;
  /** Statements prepared so far, by name; one that failed is dropped and prepared afresh next time. */
  readonly #prepared = new Map<string, SqliteStatement>();

  constructor(connection: SqliteConnection) {
    this.connection = connection;
  }

  value(statement: Statement, values: readonly unknown[]): Promise<string | undefined> {
    // all(), not get(): it steps the statement to its end, so no read transaction stays open on the
    // connection (a stale snapshot would make its next write fail with SQLITE_BUSY, whatever the timeout).
    return this.#with(statement, (prepared, settle) =>
      prepared.all(values, (error, rows) => {
        const value = rows?.[0]?.value;
        settle(error, value == null ? undefined : String(value));
      }),
    );
  }

  change(statement: Statement, values: readonly unknown[]): Promise<number> {
    return this.#with(statement, (prepared, settle) =>
      prepared.run(values, function (error) {
        settle(error, error ? 0 : this.changes);
      }),
    );
  }

  async close(): Promise<void> {
    const statements = [...this.#prepared.values()];
    this.#prepared.clear();
    await Promise.all(statements.map((s) => new Promise((resolve) => s.finalize(resolve))));
    await new Promise<void>((resolve, reject) =>
      this.connection.close((error) => (error ? reject(error) : resolve())),
    );
  }

  #with<T>(
    statement: Statement,
    call: (prepared: SqliteStatement, settle: (error: Error | null, result: T) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const settle = (error: Error | null, result: T) => {
        if (error === null) return resolve(result);
        this.#forget(statement);
        reject(error);
      };
      const ready = this.#prepared.get(statement.name);
      if (ready !== undefined) return call(ready, settle);
      // A statement that fails to prepare (no such table yet) reports it here, not on the first run.
      const prepared = this.connection.prepare(statement.text, (error) => {
        if (error) return reject(error);
        if (!this.#prepared.has(statement.name)) this.#prepared.set(statement.name, prepared);
        call(prepared, settle);
      });
    });
  }

  /** After a failure: the next call prepares the statement again (the table may have changed meanwhile). */
  #forget(statement: Statement): void {
    const prepared = this.#prepared.get(statement.name);
    if (prepared === undefined) return;
    this.#prepared.delete(statement.name);
    prepared.finalize();
  }
}
