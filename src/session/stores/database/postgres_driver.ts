import type { Driver, Statement } from "./table_statements.js";

// The table backend on PostgreSQL: a pg.Pool, and named prepared statements ({ name, text, values }): each
// connection parses a statement once, then only binds and executes it.

interface QueryResult {
  rows: { value?: unknown }[];
  rowCount: number | null;
}
interface PgPool {
  query(config: { name: string; text: string; values: readonly unknown[] }): Promise<QueryResult>;
  on(event: "error", listener: (error: Error) => void): void;
  end(): Promise<void>;
}
export interface PgModule {
  Pool: new (config: Record<string, unknown>) => PgPool;
}

export interface PostgresSettings {
  url: string;
  poolSize: number;
  timeoutMs: number;
}

export class PostgresDriver implements Driver {
  readonly #pool: PgPool;

  constructor(pg: PgModule, settings: PostgresSettings) {
    this.#pool = new pg.Pool({
      connectionString: settings.url,
      max: settings.poolSize,
      // Waiting for a free connection and connecting are bounded like everything else; a refused
      // connection rejects the waiting call at once (503), and the next call tries a new connection.
      connectionTimeoutMillis: settings.timeoutMs,
      // No idle connection is kept open by force: a database restarted meanwhile costs nothing.
      idleTimeoutMillis: 30_000,
      // Server side, per statement (client side, the backend bounds every call).
      statement_timeout: settings.timeoutMs,
      keepAlive: true,
      application_name: `stoat-session:${process.pid}`,
    });
    // An idle connection that dies (a restarted server) leaves the pool by itself; a failure that reaches a
    // request is reported there, once, as a SessionStoreUnavailableError on the app's "error" event.
    this.#pool.on("error", () => {});
  }

  value(statement: Statement, values: readonly unknown[]): Promise<string | undefined> {
    return this.#pool.query({ name: statement.name, text: statement.text, values }).then((result) => {
      const value = result.rows[0]?.value;
      return value == null ? undefined : String(value);
    });
  }

  change(statement: Statement, values: readonly unknown[]): Promise<number> {
    return this.#pool
      .query({ name: statement.name, text: statement.text, values })
      .then((result) => result.rowCount ?? 0);
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
