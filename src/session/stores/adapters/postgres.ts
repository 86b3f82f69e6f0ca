import type { EventEmitter } from "node:events";
import type { KeyvStoreAdapter } from "keyv";
import { rules } from "../../validation.js";
import type { Backend } from "../backend.js";
import { KeyvBackend } from "../keyv_backend.js";
import { defineStore } from "./definition.js";
import {
  type AdapterClass,
  type Emitter,
  importAdapter,
  keyvClass,
  requireBeside,
} from "./import_adapter.js";
import { type AdapterOptions, DEFAULTS } from "./options.js";
import { createOnce, requireUrl, urlRule } from "./util.js";

const PACKAGE = "@keyv/postgres";

// postgres: @keyv/postgres keeps one module-global pg.Pool per URL, ended by any instance's disconnect(),
// with no "error" listener (pg.Pool emits "error" when an idle client's connection drops, which crashes
// the process) and a CREATE TABLE tried only once. We subclass it to use our own pool (max = poolSize,
// connect, query and statement timeouts, an "error" listener) and to create the table on first use.

type SqlQuery = (sql: string, values?: unknown[]) => Promise<unknown[]>;
interface PostgresAdapter extends KeyvStoreAdapter {
  connect(): Promise<SqlQuery>;
  disconnect(): Promise<void>;
}
interface PostgresModule {
  default: AdapterClass<PostgresAdapter, [options: Record<string, unknown>]>;
}
interface PgPool extends Emitter {
  query(sql: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<void>;
}
interface PgModule {
  Pool: new (options: Record<string, unknown>) => PgPool;
}

export async function openPostgres(options: AdapterOptions): Promise<Backend> {
  const url = requireUrl("postgres", options.url);
  const { default: KeyvPostgres } = await importAdapter<PostgresModule>("postgres", PACKAGE);
  const pg = requireBeside<PgModule>("postgres", PACKAGE, "pg");
  const Keyv = await keyvClass();
  const { timeoutMs } = options;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? DEFAULTS.poolSize,
    connectionTimeoutMillis: timeoutMs, // connecting, and waiting for a free client
    query_timeout: timeoutMs, // client side, per query
    statement_timeout: timeoutMs, // server side, per statement
    keepAlive: true,
    application_name: `stoat-session:${process.pid}`, // which process a connection belongs to, in pg_stat_activity
  });
  pool.on("error", () => {}); // an idle client lost its connection: the pool drops it and opens another
  const createTable = `CREATE TABLE IF NOT EXISTS public.${DEFAULTS.table}(key VARCHAR(255) PRIMARY KEY, value TEXT )`;
  const ensureTable = createOnce(async () => {
    try {
      await pool.query(createTable);
    } catch (error) {
      // Two processes creating the table at once: one of them gets a duplicate error, and the table exists.
      const code = (error as { code?: string }).code;
      if (code !== "23505" && code !== "42P07") throw error;
    }
  });
  const query: SqlQuery = async (sql, values) => {
    await ensureTable();
    return (await pool.query(sql, values)).rows;
  };

  class Postgres extends KeyvPostgres {
    // Called by the KeyvPostgres constructor: our pool instead of the module-global one.
    override async connect(): Promise<SqlQuery> {
      return query;
    }
    override async disconnect(): Promise<void> {
      await pool.end();
    }
  }

  const adapter = new Postgres({ uri: url, table: DEFAULTS.table, schema: "public" });
  (adapter as unknown as EventEmitter).on("error", () => {});
  const keyv = new Keyv({ store: adapter, namespace: options.namespace ?? DEFAULTS.namespace });
  return new KeyvBackend(keyv, { name: "postgres", timeoutMs });
}

export const postgresStore = defineStore({
  name: "postgres",
  package: PACKAGE,
  rules: { url: urlRule(["postgres", "postgresql"]), poolSize: rules.wholeNumber(1, 100) },
  open: openPostgres,
});
