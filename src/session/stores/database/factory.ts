import { ConfigError } from "../../errors.js";
import { expiryOf } from "../../expiry.js";
import { RESERVED_KEY } from "../../record.js";
import type { SerializerName } from "../../sealing/codec.js";
import { rules, type Schema } from "../../validation.js";
import { serverStoreRules } from "../server_factories.js";
import type { StoreFactory } from "../store.js";
import { DatabaseAdmin } from "./admin.js";
import { type Database, DEFAULT_URL, openDatabase, parseDatabaseUrl } from "./connection.js";
import { databaseStore } from "./database_store.js";
import type { SessionRowClass } from "./session_row.js";
import { IDENTIFIER, IDENTIFIER_RULE, type TableOptions, tableLayout } from "./table.js";
import { openTableBackend, sqliteConnectionOf, type TableBackend } from "./table_backend.js";

// `config.session.store = "database"`: its options and how the store is put together.

const identifier = rules.string(IDENTIFIER, IDENTIFIER_RULE);

export const databaseRules: Schema = {
  encrypt: serverStoreRules.encrypt!,
  serializer: serverStoreRules.serializer!,
  timeout: serverStoreRules.timeout!,
  url: rules.string(
    /^(sqlite3?|postgres|postgresql|mysql|mariadb):\/\/./,
    'a URL starting with sqlite://, postgres://, mysql:// or mariadb:// (default "sqlite://db/sessions.sqlite3")',
  ),
  poolSize: rules.wholeNumber(1, 100),
  table: identifier,
  primaryKey: {
    check: (v) =>
      v === false || (typeof v === "string" && IDENTIFIER.test(v))
        ? undefined
        : `${IDENTIFIER_RULE}, or false for a table keyed by the session id column`,
  },
  sessionIdColumn: identifier,
  dataColumn: identifier,
  // The largest MySQL MEDIUMTEXT; the other dialects' text columns hold more.
  maxDataBytes: rules.wholeNumber(64, 16_777_215),
  sessionClass: { check: checkSessionClass },
  userKey: {
    check: (v) =>
      typeof v === "string" && v.length > 0 && v !== RESERVED_KEY
        ? undefined
        : "a session key (a non-empty string)",
  },
};

function checkSessionClass(value: unknown): string | undefined {
  const candidate = value as { findBySessionId?: unknown; prototype?: Record<string, unknown> } | undefined;
  return typeof value === "function" &&
    typeof candidate?.findBySessionId === "function" &&
    typeof candidate.prototype?.save === "function" &&
    typeof candidate.prototype?.destroy === "function"
    ? undefined
    : "a class with a static findBySessionId(id), a constructor taking { sessionId, data }, and save() and destroy() methods";
}

export const databaseStoreFactory: StoreFactory = {
  rules: databaseRules,
  async create(options, given, app) {
    const url = (given.url as string | undefined) ?? DEFAULT_URL;
    const { dialect } = parseDatabaseUrl(url);
    const layout = tableLayout(given as TableOptions);
    const sessionClass = given.sessionClass as SessionRowClass | undefined;
    const timeoutMs = Math.round(((given.timeout as number | undefined) ?? 2) * 1000);
    const poolSize = (given.poolSize as number | undefined) ?? 10;
    const userKey = (given.userKey as string | undefined) ?? "user_id";
    let opening: Promise<Database> | undefined;
    const closeAdmin = async () => {
      if (opening) await (await opening).close();
    };
    // The built-in table runs on its driver (prepared statements); with its own row class the store reads
    // and writes through the class. Knex (schema, app.sessions) is opened on first use either way.
    let backend: TableBackend | undefined;
    if (!sessionClass) {
      try {
        backend = await openTableBackend({
          url,
          layout,
          poolSize,
          timeoutMs,
          userKey,
          beforeClose: closeAdmin,
        });
      } catch (error) {
        // An embedded file that cannot be opened is a configuration error, found at boot.
        if (error instanceof ConfigError || dialect !== "sqlite") throw error;
        throw new ConfigError(`session store "database": cannot open ${url}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    const sqliteConnection = backend && sqliteConnectionOf(backend);
    const database = () => {
      opening ??= openDatabase({ url, poolSize, timeoutMs, table: layout.table, sqliteConnection });
      return opening;
    };
    return databaseStore({
      backend,
      rows: sessionClass,
      secrets: options.secrets,
      encrypt: (given.encrypt as boolean | undefined) ?? true,
      serializer: (given.serializer as SerializerName | undefined) ?? "msgpack",
      maxDataBytes: given.maxDataBytes as number | undefined,
      userKey,
      expiry: (record, now) => expiryOf(record, options, now),
      admin: new DatabaseAdmin({ database, layout, now: app.clock }), // the app's clock decides what is live
      close: closeAdmin,
    });
  },
};
