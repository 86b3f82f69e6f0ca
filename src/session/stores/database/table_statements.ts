import type { Dialect } from "./dialect.js";
import type { TableLayout } from "./table.js";

// The SQL the built-in table's request path runs, written once per store from the table layout: five
// statements, prepared once (a name for PostgreSQL's named statements; mysql2 and sqlite3 key their caches
// by the text). Names come from TableLayout, so they are plain identifiers; they are quoted all the same,
// as Knex quotes them in sessions:install, so a table created with capitals is the one found here. SQLite
// takes backticks as Knex does: a double-quoted name it cannot find would be read as a string instead.

/** A statement of the request path: its text, and a name unique to that text (PostgreSQL prepares by name). */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/**
 * One dialect's driver, as the table backend uses it: every call is one round trip on a statement
 * prepared once per connection.
 */
export interface Driver {
  /** The `value` column of the first row, or undefined when there is none. */
  value(statement: Statement, values: readonly unknown[]): Promise<string | undefined>;
  /** How many rows the statement inserted, changed or deleted. */
  change(statement: Statement, values: readonly unknown[]): Promise<number>;
  close(): Promise<void>;
}

export interface TableStatements {
  /** [sessionId] -> value: the data column. */
  select: Statement;
  /** [sessionId, data, userId, updatedAt, expiresAt, createdAt]. */
  insert: Statement;
  /** As insert; on an existing session id, updates data, user_id, updated_at and (when given) expires_at. */
  upsert: Statement;
  /** [data, userId, updatedAt, expiresAt, sessionId, expected]: only while data is still `expected`. */
  update: Statement;
  /** [sessionId]. */
  remove: Statement;
}

let named = 0;

export function tableStatements(dialect: Dialect, layout: TableLayout): TableStatements {
  const q = dialect === "postgres" ? (name: string) => `"${name}"` : (name: string) => `\`${name}\``;
  // PostgreSQL numbers its placeholders; the others take them in order.
  const p = dialect === "postgres" ? (n: number) => `$${n}` : (_n: number) => "?";
  const table = q(layout.table);
  const sid = q(layout.sessionId);
  const data = q(layout.data);
  const userId = q(layout.userId);
  const updatedAt = q(layout.updatedAt);
  const expiresAt = q(layout.expiresAt);
  const createdAt = q(layout.createdAt);
  const insert =
    `INSERT INTO ${table} (${sid}, ${data}, ${userId}, ${updatedAt}, ${expiresAt}, ${createdAt}) ` +
    `VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)})`;
  // A write that carries no expiry (a set outside the session core) keeps the row's.
  const onConflict =
    dialect === "mysql"
      ? ` ON DUPLICATE KEY UPDATE ${data} = VALUES(${data}), ${userId} = VALUES(${userId}), ` +
        `${updatedAt} = VALUES(${updatedAt}), ${expiresAt} = COALESCE(VALUES(${expiresAt}), ${expiresAt})`
      : ` ON CONFLICT (${sid}) DO UPDATE SET ${data} = excluded.${data}, ${userId} = excluded.${userId}, ` +
        `${updatedAt} = excluded.${updatedAt}, ${expiresAt} = COALESCE(excluded.${expiresAt}, ${table}.${expiresAt})`;
  // The guard compares bytes on MySQL: a case-insensitive collation on a legacy table must not take a
  // changed value for the old one.
  const guard =
    dialect === "mysql" ? `CAST(${data} AS BINARY) = CAST(${p(6)} AS BINARY)` : `${data} = ${p(6)}`;
  const texts = {
    select: `SELECT ${data} AS value FROM ${table} WHERE ${sid} = ${p(1)}`,
    insert,
    upsert: insert + onConflict,
    update:
      `UPDATE ${table} SET ${data} = ${p(1)}, ${userId} = ${p(2)}, ${updatedAt} = ${p(3)}, ` +
      `${expiresAt} = COALESCE(${p(4)}, ${expiresAt}) WHERE ${sid} = ${p(5)} AND ${guard}`,
    remove: `DELETE FROM ${table} WHERE ${sid} = ${p(1)}`,
  };
  // One name per store and statement: two stores of one process on other tables never share a name.
  named += 1;
  const statement = (key: string, text: string): Statement => ({ name: `stoat_${named}_${key}`, text });
  return {
    select: statement("select", texts.select),
    insert: statement("insert", texts.insert),
    upsert: statement("upsert", texts.upsert),
    update: statement("update", texts.update),
    remove: statement("remove", texts.remove),
  };
}
