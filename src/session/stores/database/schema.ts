import type { Knex } from "knex";
import { ConfigError } from "../../errors.js";
import type { Database } from "./connection.js";
import type { TableLayout } from "./table.js";

// `stoat sessions:install`: creates the sessions table and its indexes, or checks an existing one and adds
// what it lacks (a legacy table gets user_id, the timestamps and the indexes). Idempotent: a second run
// finds everything and changes nothing. The store never does this by itself
// (docs/database-store.md, "Creating the table").

/** DDL may take longer than a session read on a big legacy table; still bounded. */
const DDL_TIMEOUT_MS = 60_000;

interface IndexInfo {
  name: string;
  columns: string[];
  unique: boolean;
}

export async function installTable(db: Database, layout: TableLayout): Promise<string[]> {
  const { knex } = db;
  const where = `${layout.table} (${db.dialect})`;
  if (!(await db.run<boolean>(knex.schema.hasTable(layout.table), "inspect the table"))) {
    await ddl(db, "create the table", (schema) =>
      schema.createTable(layout.table, (t) => defineTable(t, layout, db)),
    );
    const key = layout.numericKey
      ? `${layout.primaryKey} (primary key, auto-increment), ${layout.sessionId} (unique)`
      : `${layout.sessionId} (primary key)`;
    return [
      `created table ${where}: ${key}, ${layout.data}, user_id, created_at, updated_at, expires_at`,
      `created index ${indexName(layout, "user_id")} on user_id`,
      `created index ${indexName(layout, "expires_at")} on expires_at`,
    ];
  }
  const lines = [`found table ${where}`];
  const columns = await db.run<Record<string, unknown>>(knex(layout.table).columnInfo(), "inspect the table");
  for (const [column, option] of [
    [layout.sessionId, "sessionIdColumn"],
    [layout.data, "dataColumn"],
  ] as const) {
    if (!Object.hasOwn(columns, column)) {
      throw new ConfigError(
        `session store "database": table ${layout.table} has no column ${column}; name the existing one with the option ${option} ` +
          `(columns: ${Object.keys(columns).join(", ")})`,
      );
    }
  }
  for (const column of [layout.userId, layout.createdAt, layout.updatedAt, layout.expiresAt]) {
    if (Object.hasOwn(columns, column)) continue;
    await ddl(db, `add column ${column}`, (schema) =>
      schema.alterTable(layout.table, (t) => {
        // Nullable: rows already there have no value (expire() leaves rows without expires_at alone).
        if (column === layout.userId) t.string(column, 255).nullable();
        else t.datetime(column, { precision: 3 }).nullable();
      }),
    );
    lines.push(`added column ${column}`);
  }
  const indexes = await listIndexes(db, layout.table);
  const uniqueSid = indexes.find(
    (i) => i.unique && i.columns.length === 1 && i.columns[0] === layout.sessionId,
  );
  if (uniqueSid) lines.push(`found unique index ${uniqueSid.name} on ${layout.sessionId}`);
  else {
    const name = indexName(layout, layout.sessionId, "unique");
    await ddl(db, "create an index", (schema) =>
      schema.alterTable(layout.table, (t) => t.unique([layout.sessionId], { indexName: name })),
    );
    lines.push(`created unique index ${name} on ${layout.sessionId}`);
  }
  for (const column of [layout.userId, layout.expiresAt]) {
    const found = indexes.find((i) => i.columns[0] === column);
    if (found) {
      lines.push(`found index ${found.name} on ${column}`);
      continue;
    }
    const name = indexName(layout, column);
    await ddl(db, "create an index", (schema) =>
      schema.alterTable(layout.table, (t) => t.index([column], name)),
    );
    lines.push(`created index ${name} on ${column}`);
  }
  return lines;
}

/**
 * A schema change, bounded by DDL_TIMEOUT_MS rather than the store's `timeout`. On PostgreSQL the
 * connection's statement_timeout (the store's `timeout`) would cut an index build on a big table short;
 * DDL is transactional there, so it runs in a transaction with its own bound.
 */
async function ddl(db: Database, what: string, change: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder) {
  if (db.dialect !== "postgres") return db.run(change(db.knex.schema), what, DDL_TIMEOUT_MS);
  return db.run(
    db.knex.transaction(async (trx) => {
      await trx.raw(`SET LOCAL statement_timeout = ${DDL_TIMEOUT_MS}`);
      await change(trx.schema);
    }),
    what,
    DDL_TIMEOUT_MS,
  );
}

function defineTable(t: Knex.CreateTableBuilder, layout: TableLayout, db: Database): void {
  if (layout.numericKey) {
    t.bigIncrements(layout.primaryKey, { primaryKey: true });
    t.string(layout.sessionId, 255)
      .notNullable()
      .unique({ indexName: indexName(layout, layout.sessionId, "unique") });
  } else {
    t.string(layout.sessionId, 255).notNullable().primary();
  }
  // MySQL's TEXT holds 64 KB and maxDataBytes may be raised: MEDIUMTEXT (16 MB).
  if (db.dialect === "mysql") t.text(layout.data, "mediumtext").notNullable();
  else t.text(layout.data).notNullable();
  t.string(layout.userId, 255).nullable().index(indexName(layout, "user_id"));
  t.datetime(layout.createdAt, { precision: 3 }).notNullable();
  t.datetime(layout.updatedAt, { precision: 3 }).notNullable();
  t.datetime(layout.expiresAt, { precision: 3 }).notNullable().index(indexName(layout, "expires_at"));
  if (db.dialect === "mysql") {
    // 4-byte UTF-8 (emoji) everywhere, and exact, byte-wise comparison of ids and data.
    t.charset("utf8mb4");
    t.collate("utf8mb4_bin");
  }
}

/** Short, predictable names (PostgreSQL cuts names at 63 bytes, MySQL refuses longer than 64). */
function indexName(layout: TableLayout, column: string, kind: "unique" | "index" = "index"): string {
  return `${layout.table}_${column}_${kind === "unique" ? "uq" : "idx"}`;
}

/** Every index of the table with its columns in order, primary keys included, per dialect. */
async function listIndexes(db: Database, table: string): Promise<IndexInfo[]> {
  const { knex } = db;
  if (db.dialect === "postgres") {
    const result = await db.run<{ rows: { name: string; unique: boolean; columns: string }[] }>(
      knex.raw(
        `SELECT i.relname AS name, ix.indisunique AS unique,
                string_agg(a.attname, ',' ORDER BY k.n) AS columns
           FROM pg_index ix
           JOIN pg_class t ON t.oid = ix.indrelid
           JOIN pg_class i ON i.oid = ix.indexrelid
           JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n) ON true
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
          WHERE t.relname = ? AND t.relnamespace = current_schema()::regnamespace
          GROUP BY i.relname, ix.indisunique`,
        [table],
      ),
      "inspect the indexes",
    );
    return result.rows.map((r) => ({ name: r.name, unique: r.unique, columns: r.columns.split(",") }));
  }
  if (db.dialect === "mysql") {
    const [rows] = await db.run<
      [{ Key_name: string; Column_name: string; Non_unique: number; Seq_in_index: number }[]]
    >(knex.raw("SHOW INDEX FROM ??", [table]), "inspect the indexes");
    const byName = new Map<string, IndexInfo>();
    for (const row of [...rows].sort((a, b) => a.Seq_in_index - b.Seq_in_index)) {
      const index = byName.get(row.Key_name) ?? {
        name: row.Key_name,
        columns: [],
        unique: Number(row.Non_unique) === 0,
      };
      index.columns.push(row.Column_name);
      byName.set(row.Key_name, index);
    }
    return [...byName.values()];
  }
  const list = await db.run<{ name: string; unique: number }[]>(
    knex.raw("PRAGMA index_list(??)", [table]),
    "inspect the indexes",
  );
  const indexes: IndexInfo[] = [];
  for (const entry of list) {
    const info = await db.run<{ seqno: number; name: string }[]>(
      knex.raw("PRAGMA index_info(??)", [entry.name]),
      "inspect the indexes",
    );
    indexes.push({
      name: entry.name,
      unique: Number(entry.unique) === 1,
      columns: info.sort((a, b) => a.seqno - b.seqno).map((c) => c.name),
    });
  }
  // A table whose primary key is a plain (non-INTEGER) column lists it as sqlite_autoindex_*; an INTEGER
  // PRIMARY KEY is the rowid and has no index entry, which is fine: it is never the session id.
  return indexes;
}
