// The raw drivers of the database floors (sql_floor.ts, bare_sql.ts), no Knex and no session library: pg with
// named prepared statements (a pool of 10, Stoat's default poolSize), and SQLite over the driver Stoat's
// database store loads (sqlite3, from Stoat's own install, one connection in WAL mode with synchronous=NORMAL,
// as Stoat opens it). The table has the columns and indexes `stoat sessions:install` creates; it is made when the server
// starts and dropped when it stops.

import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { POSTGRES_URL } from "./serve.js";

export type SqlKind = "postgres" | "sqlite";

export interface SqlSessions {
  /** The row's data, or undefined when there is none. */
  select(sessionId: string): Promise<string | undefined>;
  /** The guarded write: true when the row still held `expected` and now holds `data`. */
  update(sessionId: string, expected: string, data: string, now: Date, expiresAt: Date): Promise<boolean>;
  insert(sessionId: string, data: string, now: Date, expiresAt: Date): Promise<void>;
  /** Drops the table (and the SQLite file) and closes the connections. */
  close(): Promise<void>;
}

const SELECT = (t: string) => `SELECT data FROM ${t} WHERE session_id = $1`;
const UPDATE = (t: string) =>
  `UPDATE ${t} SET data = $1, updated_at = $2, expires_at = $3 WHERE session_id = $4 AND data = $5`;
const INSERT = (t: string) =>
  `INSERT INTO ${t} (session_id, data, created_at, updated_at, expires_at) VALUES ($1, $2, $3, $3, $4)`;

/** The indexes `stoat sessions:install` adds beside the unique session id: each write keeps them current. */
const INDEXES = (t: string) => [
  `CREATE INDEX ${t}_user_id_idx ON ${t} (user_id)`,
  `CREATE INDEX ${t}_expires_at_idx ON ${t} (expires_at)`,
];

async function postgres(table: string): Promise<SqlSessions> {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
  await pool.query(
    `CREATE TABLE ${table} (id bigserial PRIMARY KEY, session_id varchar(255) NOT NULL UNIQUE, data text NOT NULL, ` +
      "user_id varchar(255), created_at timestamptz(3), updated_at timestamptz(3), expires_at timestamptz(3))",
  );
  for (const index of INDEXES(table)) await pool.query(index);
  // Named statements: each connection prepares them once, then sends only their name and values.
  const [select, update, insert] = [SELECT(table), UPDATE(table), INSERT(table)];
  return {
    async select(sessionId) {
      const result = await pool.query<{ data: string }>({
        name: `${table}-select`,
        text: select,
        values: [sessionId],
      });
      return result.rows[0]?.data;
    },
    async update(sessionId, expected, data, now, expiresAt) {
      const result = await pool.query({
        name: `${table}-update`,
        text: update,
        values: [data, now, expiresAt, sessionId, expected],
      });
      return result.rowCount === 1;
    },
    async insert(sessionId, data, now, expiresAt) {
      await pool.query({ name: `${table}-insert`, text: insert, values: [sessionId, data, now, expiresAt] });
    },
    async close() {
      await pool.query(`DROP TABLE IF EXISTS ${table}`).finally(() => pool.end());
    },
  };
}

interface Statement {
  get(params: unknown[], done: (error: Error | null, row?: Record<string, unknown>) => void): void;
  run(params: unknown[], done: (this: { changes: number }, error: Error | null) => void): void;
  finalize(done: () => void): void;
}
interface Database {
  exec(sql: string, done: (error: Error | null) => void): void;
  prepare(sql: string, done: (error: Error | null) => void): Statement;
  configure(option: "busyTimeout", ms: number): void;
  close(done: (error: Error | null) => void): void;
}
type Sqlite3 = { Database: new (file: string, done: (error: Error | null) => void) => Database };

/** The sqlite3 driver Stoat's database store loads: Stoat's own install, not a second copy in the bench's. */
function stoatsSqlite3(): Sqlite3 {
  const stoat = createRequire(import.meta.url).resolve("stoat/package.json");
  return createRequire(stoat)("sqlite3") as Sqlite3;
}

/** SQLite timestamps as Stoat writes them: UTC text `YYYY-MM-DD HH:MM:SS.SSS`. */
const sqliteTime = (at: Date) => at.toISOString().replace("T", " ").slice(0, 23);

async function sqlite(table: string): Promise<SqlSessions> {
  const dir = mkdtempSync(join(tmpdir(), "stoat-bench-floor-"));
  const sqlite3 = stoatsSqlite3();
  const db = await new Promise<Database>((resolve, reject) => {
    const opened: Database = new sqlite3.Database(join(dir, "s.sqlite3"), (error) =>
      error ? reject(error) : resolve(opened),
    );
  });
  const exec = (sql: string) =>
    new Promise<void>((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
  db.configure("busyTimeout", 2000);
  await exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  await exec(
    `CREATE TABLE ${table} (id integer PRIMARY KEY AUTOINCREMENT, session_id varchar(255) NOT NULL UNIQUE, ` +
      "data text NOT NULL, user_id varchar(255), created_at varchar(23), updated_at varchar(23), expires_at varchar(23))",
  );
  for (const index of INDEXES(table)) await exec(index);
  const prepare = (sql: string) =>
    new Promise<Statement>((resolve, reject) => {
      const statement = db.prepare(sql, (error) => (error ? reject(error) : resolve(statement)));
    });
  const [select, update, insert] = await Promise.all(
    [SELECT(table), UPDATE(table), INSERT(table)].map((sql) => prepare(sql.replace(/\$(\d)/g, "?$1"))),
  );
  const run = (statement: Statement, params: unknown[]) =>
    new Promise<number>((resolve, reject) =>
      statement!.run(params, function (error) {
        if (error) reject(error);
        else resolve(this.changes);
      }),
    );
  return {
    select: (sessionId) =>
      new Promise((resolve, reject) =>
        select!.get([sessionId], (error, row) => (error ? reject(error) : resolve(row?.data as string))),
      ),
    async update(sessionId, expected, data, now, expiresAt) {
      return (await run(update!, [data, sqliteTime(now), sqliteTime(expiresAt), sessionId, expected])) === 1;
    },
    async insert(sessionId, data, now, expiresAt) {
      await run(insert!, [sessionId, data, sqliteTime(now), sqliteTime(expiresAt)]);
    },
    async close() {
      for (const statement of [select, update, insert])
        await new Promise<void>((r) => statement!.finalize(r));
      await new Promise<void>((resolve, reject) => db.close((error) => (error ? reject(error) : resolve())));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The sessions table `table` on `kind`, created now. */
export function sqlSessions(kind: SqlKind, table: string): Promise<SqlSessions> {
  return kind === "postgres" ? postgres(table) : sqlite(table);
}

export function sqlKind(store: string): SqlKind {
  if (store === "postgres" || store === "sqlite") return store;
  throw new Error(`BENCH_STORE must be postgres or sqlite, got ${store}`);
}
