import { ConfigError } from "../../errors.js";

// The sessions table's names. Four are options (the ones activerecord-session_store lets you rename);
// user_id, created_at, updated_at and expires_at are fixed, so that tools and the CLI can rely on them.

/** What an identifier option may be: plain SQL names only, so no quoting question ever arises. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;
export const IDENTIFIER_RULE = "a name of letters, digits and _ (not starting with a digit, at most 48)";

export interface TableLayout {
  table: string;
  /**
   * The primary key column. Equal to `sessionId` on a legacy table whose session id column is the primary
   * key (no numeric `id`).
   */
  primaryKey: string;
  /** The hashed session id (`2::` + 64 hex), unique. */
  sessionId: string;
  /** The RecordSealer string. */
  data: string;
  userId: "user_id";
  createdAt: "created_at";
  updatedAt: "updated_at";
  expiresAt: "expires_at";
  /** True when the table has a numeric auto-increment key of its own. */
  numericKey: boolean;
}

export interface TableOptions {
  table?: string;
  /** A column name; `false`, or the session id column's name, for a table keyed by the session id. */
  primaryKey?: string | false;
  sessionIdColumn?: string;
  dataColumn?: string;
}

export function tableLayout(options: TableOptions = {}): TableLayout {
  const sessionId = options.sessionIdColumn ?? "session_id";
  const primaryKey = options.primaryKey === false ? sessionId : (options.primaryKey ?? "id");
  const layout: TableLayout = {
    table: options.table ?? "sessions",
    primaryKey,
    sessionId,
    data: options.dataColumn ?? "data",
    userId: "user_id",
    createdAt: "created_at",
    updatedAt: "updated_at",
    expiresAt: "expires_at",
    numericKey: primaryKey !== sessionId,
  };
  for (const [option, name] of [
    ["table", layout.table],
    ["primaryKey", layout.primaryKey],
    ["sessionIdColumn", layout.sessionId],
    ["dataColumn", layout.data],
  ] as const) {
    if (!IDENTIFIER.test(name)) {
      throw new ConfigError(
        `config.session.options.${option} must be ${IDENTIFIER_RULE}, got ${JSON.stringify(name)}`,
      );
    }
  }
  const columns = [
    layout.sessionId,
    layout.data,
    layout.userId,
    layout.createdAt,
    layout.updatedAt,
    layout.expiresAt,
  ];
  if (layout.numericKey) columns.push(layout.primaryKey);
  const repeated = columns.find((name, i) => columns.indexOf(name) !== i);
  if (repeated) {
    throw new ConfigError(
      `session store "database": the column name ${JSON.stringify(repeated)} is used twice (primaryKey, ` +
        "sessionIdColumn and dataColumn must differ from each other and from user_id, created_at, updated_at, expires_at)",
    );
  }
  return layout;
}
