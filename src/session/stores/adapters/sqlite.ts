import type { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { KeyvStoreAdapter } from "keyv";
import { ConfigError } from "../../errors.js";
import { rules } from "../../validation.js";
import type { Backend } from "../backend.js";
import { KeyvBackend, withTimeout } from "../keyv_backend.js";
import { defineStore } from "./definition.js";
import { type AdapterClass, importAdapter, keyvClass } from "./import_adapter.js";
import { type AdapterOptions, DEFAULTS } from "./options.js";

const PACKAGE = "@keyv/sqlite";

// sqlite: opened at boot (an embedded file that cannot be opened is a configuration error), busyTimeout.

interface SqliteAdapter extends KeyvStoreAdapter {
  query(sql: string, ...parameters: unknown[]): Promise<unknown>;
}
interface SqliteModule {
  default: AdapterClass<SqliteAdapter, [options: Record<string, unknown>]>;
}

export async function openSqlite(options: AdapterOptions): Promise<Backend> {
  const { default: KeyvSqlite } = await importAdapter<SqliteModule>("sqlite", PACKAGE);
  const Keyv = await keyvClass();
  const given = options.database ?? DEFAULTS.sqliteDatabase;
  const file = given === ":memory:" ? given : resolve(given);
  if (file !== ":memory:") {
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (error) {
      throw new ConfigError(
        `session store "sqlite": cannot create the directory of ${file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: options.timeoutMs });
  // KeyvSqlite opens the file in its constructor and emits "error" if that fails: listen before anything else.
  (adapter as unknown as EventEmitter).on("error", () => {});
  // The first query waits for the file to open and the table to exist; it also handles the constructor's
  // promise, which would otherwise be an unhandled rejection when the file cannot be opened.
  const opened = adapter.query("SELECT 1");
  const keyv = new Keyv({ store: adapter, namespace: options.namespace ?? DEFAULTS.namespace });
  const backend = new KeyvBackend(keyv, { name: "sqlite", timeoutMs: options.timeoutMs });
  try {
    await withTimeout(opened, options.timeoutMs);
  } catch (error) {
    throw new ConfigError(`session store "sqlite": cannot open ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return backend;
}

export const sqliteStore = defineStore({
  name: "sqlite",
  package: PACKAGE,
  rules: { database: rules.string(/^.+$/, "a file path") },
  open: openSqlite,
});
