import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import knexFactory, { type Knex } from "knex";
import { resolveSessionOptions } from "../../../../src/session/options.js";
import type { Backend } from "../../../../src/session/stores/backend.js";
import { DatabaseAdmin } from "../../../../src/session/stores/database/admin.js";
import { type Database, openDatabase } from "../../../../src/session/stores/database/connection.js";
import {
  type DatabaseStoreOptions,
  databaseStore,
} from "../../../../src/session/stores/database/database_store.js";
import { databaseStoreFactory } from "../../../../src/session/stores/database/factory.js";
import {
  defineSessionRow,
  type SessionRowClass,
} from "../../../../src/session/stores/database/session_row.js";
import { type TableOptions, tableLayout } from "../../../../src/session/stores/database/table.js";
import {
  openTableBackend,
  sqliteConnectionOf,
  type TableBackend,
} from "../../../../src/session/stores/database/table_backend.js";
import type { ServerStore } from "../../../../src/session/stores/server_store.js";
import { SECRET } from "../../../support/app.js";
import { type ServiceName, serviceUrl } from "../../../support/services.js";

// The three databases the `database` store specs run on: a temporary SQLite file, and the PostgreSQL and
// MariaDB of spec/support/services.ts. Tables get names unique to this run (specs of other files may run
// against the same servers at the same time) and are dropped after.

export interface DialectCase {
  name: "sqlite" | "postgres" | "mariadb";
  service?: ServiceName;
  url: string;
}

const sqliteDir = mkdtempSync(join(tmpdir(), "stoat-database-"));
// On exit, not in a root `after`: the spec files' own `after` hooks still drop tables in it.
process.on("exit", () => rmSync(sqliteDir, { recursive: true, force: true }));

export const DIALECTS: readonly DialectCase[] = [
  { name: "sqlite", url: `sqlite://${join(sqliteDir, "sessions.sqlite3")}` },
  { name: "postgres", service: "postgres", url: serviceUrl("postgres") },
  { name: "mariadb", service: "mysql", url: serviceUrl("mysql") },
];

const run = `${Date.now().toString(36)}${process.pid.toString(36)}`;
let counter = 0;

/** A table name no other run or spec uses (short: index names add about 20 characters). */
export function uniqueTable(prefix = "s"): string {
  counter += 1;
  return `${prefix}_${run}_${counter}`;
}

/** A Knex connection of the spec's own, to look at rows without going through Stoat. */
export function rawDatabase(dialect: DialectCase): Knex {
  if (dialect.name === "sqlite") {
    return knexFactory({
      client: "sqlite3",
      connection: { filename: dialect.url.slice("sqlite://".length) },
      useNullAsDefault: true,
    });
  }
  if (dialect.name === "postgres")
    return knexFactory({ client: "pg", connection: dialect.url, pool: { min: 0, max: 2 } });
  return knexFactory({
    client: "mysql2",
    connection: {
      uri: dialect.url,
      charset: "utf8mb4",
      timezone: "Z",
    } as unknown as Knex.MySql2ConnectionConfig,
    pool: { min: 0, max: 2 },
  });
}

/** Drops the tables (when they exist) and closes the connection. */
export async function dropTables(db: Knex, tables: Iterable<string>): Promise<void> {
  for (const table of tables) await db.schema.dropTableIfExists(table);
}

/**
 * Installs `table` (as `npx stoat sessions:install` would) and returns a Backend over it for the shared
 * HTTP suite: `get` reads the data column by hashed id; `close` drops the table.
 */
export async function installedTable(dialect: DialectCase, table: string): Promise<Backend> {
  const options = resolveSessionOptions({ secret: SECRET }, databaseStoreFactory.rules, [SECRET]);
  const store = await databaseStoreFactory.create(options, { url: dialect.url, table }, { clock: Date.now });
  try {
    await store.admin!.install();
  } finally {
    await store.close!();
  }
  const db = rawDatabase(dialect);
  return {
    async get(key) {
      const row = await db(table).where("session_id", key).first("data");
      return row?.data;
    },
    async set() {
      throw new Error("not used");
    },
    async delete() {
      throw new Error("not used");
    },
    async close() {
      await dropTables(db, [table]).finally(() => db.destroy());
    },
  };
}

export interface BuiltStore {
  store: ServerStore;
  /** The Knex connection of app.sessions (and of the row class, when the store reads through one). */
  db: Database;
  /** The built-in table's backend, unless the store reads and writes through a row class. */
  backend: TableBackend | undefined;
  /** Calls `listener` with the text of every statement the store runs from now on. */
  onStatement(listener: (sql: string) => void): void;
}

/**
 * The store put together as the factory does (the built-in table on its driver, or a row class when
 * `rows` or `wrapRows` is given), but with its pieces in hand: the statements it runs, and the store
 * options the factory does not expose (maxAttempts).
 */
export async function buildStore(
  dialect: DialectCase,
  table: TableOptions & { table: string },
  options: Partial<DatabaseStoreOptions> & { wrapRows?: (rows: SessionRowClass) => SessionRowClass } = {},
): Promise<BuiltStore> {
  const layout = tableLayout(table);
  const settings = { url: dialect.url, poolSize: 10, timeoutMs: 5000 };
  const throughRows = options.rows !== undefined || options.wrapRows !== undefined;
  let db: Database | undefined;
  const backend = throughRows
    ? undefined
    : await openTableBackend({
        ...settings,
        layout,
        userKey: options.userKey ?? "user_id",
        beforeClose: () => db!.close(),
      });
  db = await openDatabase({
    ...settings,
    table: layout.table,
    sqliteConnection: backend && sqliteConnectionOf(backend),
  });
  const rows = defineSessionRow(db, layout);
  const store = databaseStore({
    ...(backend ? { backend } : { rows: options.wrapRows ? options.wrapRows(rows) : rows }),
    secrets: [SECRET],
    encrypt: true,
    serializer: "msgpack",
    admin: new DatabaseAdmin({ database: async () => db, layout }),
    close: () => db.close(),
    ...options,
  });
  const onStatement = (listener: (sql: string) => void) => {
    if (!backend) {
      db.knex.on("query", (query: { sql: string }) => listener(query.sql));
      return;
    }
    // Every call the backend makes on its driver, with the statement's text.
    const driver = backend.driver;
    const { value, change } = driver;
    driver.value = (statement, values) => {
      listener(statement.text);
      return value.call(driver, statement, values);
    };
    driver.change = (statement, values) => {
      listener(statement.text);
      return change.call(driver, statement, values);
    };
  };
  return { store, db, backend, onStatement };
}
