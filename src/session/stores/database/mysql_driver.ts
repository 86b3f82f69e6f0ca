import type { Driver, Statement } from "./table_statements.js";

// The table backend on MySQL/MariaDB: a mysql2 pool and `execute`, which prepares a statement on the server
// once per connection (mysql2 caches it by its text) and then only sends the values.

interface ResultHeader {
  affectedRows?: number;
}
type Rows = { value?: unknown }[];
interface MysqlConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
  destroy(): void;
}
interface MysqlPool {
  execute(
    sql: string,
    values: readonly unknown[],
    callback: (error: Error | null, result: Rows | ResultHeader) => void,
  ): void;
  on(event: "connection", listener: (connection: MysqlConnection) => void): void;
  end(callback: (error: Error | null) => void): void;
}
export interface Mysql2Module {
  createPool(config: Record<string, unknown>): MysqlPool;
}

export interface MysqlSettings {
  url: string;
  poolSize: number;
  timeoutMs: number;
}

/**
 * Per-connection settings. Never truncate: a value too long for its column fails the write, whatever the
 * server's mode; a row lock is waited for about as long as the store's own bound, not InnoDB's default 50 s.
 */
export function mysqlSessionSettings(timeoutMs: number): string {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  return `SET SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, 'STRICT_ALL_TABLES'), SESSION innodb_lock_wait_timeout = ${seconds}`;
}

export class MysqlDriver implements Driver {
  readonly #pool: MysqlPool;

  constructor(mysql2: Mysql2Module, settings: MysqlSettings) {
    this.#pool = mysql2.createPool({
      uri: settings.url,
      connectionLimit: settings.poolSize,
      connectTimeout: settings.timeoutMs,
      charset: "utf8mb4", // emoji and every other 4-byte character, in data and user ids
      timezone: "Z", // DATETIME columns hold UTC, whatever the server's or the process's zone
      // Idle connections stay (a smaller maxIdle arms a timer that keeps the process alive); one the server
      // closed (a restart) leaves the pool by itself.
      enableKeepAlive: true,
    });
    // Runs before the statement that asked for the new connection (both queue on it, in this order); a
    // connection that cannot take the settings is dropped, failing that statement (503).
    const session = mysqlSessionSettings(settings.timeoutMs);
    this.#pool.on("connection", (connection) =>
      connection.query(session, (error) => {
        if (error) connection.destroy();
      }),
    );
  }

  value(statement: Statement, values: readonly unknown[]): Promise<string | undefined> {
    return new Promise((resolve, reject) =>
      this.#pool.execute(statement.text, values, (error, rows) => {
        if (error) return reject(error);
        const value = (rows as Rows)[0]?.value;
        resolve(value == null ? undefined : String(value));
      }),
    );
  }

  change(statement: Statement, values: readonly unknown[]): Promise<number> {
    return new Promise((resolve, reject) =>
      this.#pool.execute(statement.text, values, (error, result) =>
        error ? reject(error) : resolve((result as ResultHeader).affectedRows ?? 0),
      ),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.#pool.end((error) => (error ? reject(error) : resolve())));
  }
}
