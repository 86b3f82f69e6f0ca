import { EventEmitter } from "node:events";
import type { KeyvStoreAdapter } from "keyv";
import { rules } from "../../validation.js";
import type { Backend } from "../backend.js";
import { KeyvBackend } from "../keyv_backend.js";
import { defineStore } from "./definition.js";
import { type Emitter, importAdapter, keyvClass, requireBeside } from "./import_adapter.js";
import { type AdapterOptions, DEFAULTS } from "./options.js";
import { createOnce, requireUrl, urlRule } from "./util.js";

const PACKAGE = "@keyv/mysql";

// mysql: @keyv/mysql's constructor starts a module-global pool and a CREATE TABLE whose failure is an
// unhandled rejection (a crash when MySQL is down at boot, and a backend that never recovers), and its
// `value TEXT` column holds 64 KB. So this store uses a small adapter of ours over mysql2 (the driver
// @keyv/mysql brings) with the same table layout (`id`, `value`), a MEDIUMTEXT utf8mb4 column, strict SQL
// mode, pool and query timeouts.

interface MysqlConnection extends Emitter {
  query(sql: string, callback: (error: Error | null) => void): unknown;
}
interface MysqlPool extends Emitter {
  query(
    options: { sql: string; values?: unknown[]; timeout?: number },
    callback: (error: (Error & { code?: string }) | null, result: unknown) => void,
  ): unknown;
  end(callback: (error: Error | null) => void): void;
}
interface Mysql2Module {
  createPool(options: Record<string, unknown>): MysqlPool;
}

export async function openMysql(options: AdapterOptions): Promise<Backend> {
  const url = requireUrl("mysql", options.url);
  await importAdapter("mysql", PACKAGE);
  const mysql2 = requireBeside<Mysql2Module>("mysql", PACKAGE, "mysql2");
  const Keyv = await keyvClass();
  const poolSize = options.poolSize ?? DEFAULTS.poolSize;
  const pool = mysql2.createPool({
    uri: url.replace(/^mariadb:/, "mysql:"),
    connectionLimit: poolSize,
    waitForConnections: true,
    queueLimit: poolSize * 100, // requests waiting for a connection: bounded, then refused at once
    connectTimeout: options.timeoutMs,
    enableKeepAlive: true,
    charset: "utf8mb4",
  });
  const store = new MysqlStore(pool, DEFAULTS.table, options.timeoutMs);
  const keyv = new Keyv({
    store: store as unknown as KeyvStoreAdapter,
    namespace: options.namespace ?? DEFAULTS.namespace,
  });
  return new KeyvBackend(keyv, { name: "mysql", timeoutMs: options.timeoutMs });
}

/**
 * A Keyv storage adapter over a mysql2 pool, with @keyv/mysql's table layout (`id` VARCHAR(255) primary key,
 * `value`), so data written by either is read by the other. See the top of this file for why not KeyvMysql.
 */
class MysqlStore extends EventEmitter {
  namespace?: string;
  readonly opts: { dialect: string; table: string };
  readonly #pool: MysqlPool;
  readonly #table: string;
  readonly #timeoutMs: number;
  readonly #ensureTable: () => Promise<void>;

  constructor(pool: MysqlPool, table: string, timeoutMs: number) {
    super();
    this.opts = { dialect: "mysql", table };
    this.#pool = pool;
    this.#table = `\`${table.replace(/`/g, "``")}\``;
    this.#timeoutMs = timeoutMs;
    // Errors reach callers through the promises; these listeners only keep a stray "error" from crashing.
    this.on("error", () => {});
    pool.on("error", () => {});
    pool.on("connection", (connection: MysqlConnection) => {
      connection.on("error", () => {});
      // Never truncate silently: a value too long for its column fails the write, whatever the server's mode.
      connection.query(
        "SET SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, 'STRICT_ALL_TABLES')",
        () => {},
      );
    });
    this.#ensureTable = createOnce(async () => {
      await this.#query(
        `CREATE TABLE IF NOT EXISTS ${this.#table} (id VARCHAR(255) NOT NULL PRIMARY KEY, value MEDIUMTEXT NOT NULL) ` +
          "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
      );
    });
  }

  async get(key: string): Promise<string | undefined> {
    const rows = (await this.#run(`SELECT value FROM ${this.#table} WHERE id = ?`, [key])) as {
      value: string;
    }[];
    return rows[0]?.value;
  }

  async set(key: string, value: string): Promise<boolean> {
    await this.#run(
      `INSERT INTO ${this.#table} (id, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)`,
      [key, value],
    );
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const result = (await this.#run(`DELETE FROM ${this.#table} WHERE id = ?`, [key])) as {
      affectedRows: number;
    };
    return result.affectedRows > 0;
  }

  async clear(): Promise<void> {
    const prefix = this.namespace ? `${this.namespace.replace(/[\\%_]/g, "\\$&")}:%` : "%";
    await this.#run(`DELETE FROM ${this.#table} WHERE id LIKE ?`, [prefix]);
  }

  async disconnect(): Promise<void> {
    await new Promise<void>((resolvePromise, reject) => {
      this.#pool.end((error) => (error ? reject(error) : resolvePromise()));
    });
  }

  async #run(sql: string, values: unknown[]): Promise<unknown> {
    await this.#ensureTable();
    return this.#query(sql, values);
  }

  #query(sql: string, values?: unknown[]): Promise<unknown> {
    return new Promise((resolvePromise, reject) => {
      this.#pool.query({ sql, values, timeout: this.#timeoutMs }, (error, result) =>
        error ? reject(error) : resolvePromise(result),
      );
    });
  }
}

export const mysqlStore = defineStore({
  name: "mysql",
  package: PACKAGE,
  rules: { url: urlRule(["mysql", "mariadb"]), poolSize: rules.wholeNumber(1, 100) },
  open: openMysql,
});
