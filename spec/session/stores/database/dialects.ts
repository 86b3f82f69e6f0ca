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
  /** The store's own connection (count its queries with db.knex.on("query", ...)). */
  db: Database;
}

/**
 * The store put together as the factory does, but with its pieces in hand: the connection (to count
 * queries) and the store options the factory does not expose (maxAttempts).
 */
export async function buildStore(
  dialect: DialectCase,
  table: TableOptions & { table: string },
  options: Partial<DatabaseStoreOptions> & { wrapRows?: (rows: SessionRowClass) => SessionRowClass } = {},
): Promise<BuiltStore> {
  const layout = tableLayout(table);
  const db = await openDatabase({ url: dialect.url, poolSize: 10, timeoutMs: 5000, table: layout.table });
  const rows = defineSessionRow(db, layout);
  const store = databaseStore({
    rows: options.wrapRows ? options.wrapRows(rows) : rows,
    secrets: [SECRET],
    encrypt: true,
    serializer: "msgpack",
    admin: new DatabaseAdmin({ database: async () => db, layout }),
    close: () => db.close(),
    ...options,
  });
  return { store, db };
}
