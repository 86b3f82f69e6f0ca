import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keyv } from "keyv";
import type { Application, Config, RoutesDefinition, SessionOptions } from "stoat";
import type { BackendName } from "../../src/session/stores/adapters/index.js";
import type { Backend } from "../../src/session/stores/backend.js";
import { DIALECTS, installedTable, uniqueTable } from "../session/stores/database/dialects.js";
import { testApp } from "../support/app.js";
import { inspectStore } from "../support/inspect.js";
import { type ServiceName, serviceUrl, useService } from "../support/services.js";

// The stores the hardening specs run on, each opened once per file on first use: the cookie store; the Keyv
// stores memory, redis, memcache, sqlite, postgres, mysql (MariaDB here) and keyv (an app's own Keyv
// instance); and the `database` store on SQLite, PostgreSQL and MariaDB, each in a table of this run's own
// (installed on open, dropped on close). A real service that is down skips its cases (useService), or fails
// them under CI.

export type HardeningStoreName =
  | "cookie"
  | "memory"
  | "redis"
  | "memcache"
  | "sqlite"
  | "postgres"
  | "mysql"
  | "keyv"
  | "database";

export interface StoreCase {
  /** The store's name, as `store:` in the options and `store` on the diagnostics channels. */
  name: HardeningStoreName;
  /** Unique among the cases: the name, or "database (postgres)" and so on. */
  label: string;
  service?: ServiceName;
  /** For the `database` store: the dialect, "sqlite", "postgres" or "mariadb". */
  dialect?: string;
  /** Session options of this store (besides the secret). */
  options(): SessionOptions & Record<string, unknown>;
  /** A second connection to what is stored, looked up by hashed id; the memory store has none. */
  inspect?(): Promise<Backend>;
}

const run = `${Date.now().toString(36)}-${process.pid}`;
let sqliteDir: string | undefined;
function sqliteFile(): string {
  sqliteDir ??= mkdtempSync(join(tmpdir(), "stoat-hardening-"));
  return join(sqliteDir, "sessions.sqlite3");
}

/** The Keyv stores, inspected through a second Backend that openBackend opens on the same data. */
function keyvCase(
  name: BackendName,
  service: ServiceName | undefined,
  options: () => Record<string, unknown>,
) {
  return {
    name,
    label: name,
    service,
    options,
    inspect: () => inspectStore(name, options()),
  } satisfies StoreCase;
}

// The app's own Keyv instance (over a Map here; in an app, mongo, dynamo, valkey...).
const userKeyv = new Keyv();
const namespace = `hardening-${run}`;

export const STORES: readonly StoreCase[] = [
  { name: "cookie", label: "cookie", options: () => ({}) },
  { name: "memory", label: "memory", options: () => ({}) },
  keyvCase("redis", "redis", () => ({ url: serviceUrl("redis"), namespace })),
  keyvCase("memcache", "memcache", () => ({ memcacheServer: serviceUrl("memcache"), namespace })),
  keyvCase("sqlite", undefined, () => ({ database: sqliteFile() })),
  keyvCase("postgres", "postgres", () => ({ url: serviceUrl("postgres"), namespace })),
  keyvCase("mysql", "mysql", () => ({ url: serviceUrl("mysql"), namespace })),
  keyvCase("keyv", undefined, () => ({ keyv: userKeyv })),
  ...DIALECTS.map((dialect): StoreCase => {
    const table = uniqueTable("hard");
    return {
      name: "database",
      label: `database (${dialect.name})`,
      service: dialect.service,
      dialect: dialect.name,
      options: () => ({ url: dialect.url, table }),
      inspect: () => installedTable(dialect, table),
    };
  }),
];

export const SERVER_STORES = STORES.filter((s) => s.name !== "cookie");

/** The cases on MariaDB: the mysql store and the database store on MariaDB. */
export const onMariaDB = (store: StoreCase) => store.name === "mysql" || store.dialect === "mariadb";

export interface OpenStore {
  app: Application;
  /** A second connection to what is stored; the memory store has none. */
  backend?: Backend;
}

/**
 * One app per store and routes, made on first use and closed by `closeStores()`. Call from an `it` or a
 * hook with its mocha context, so an unreachable service skips (or, under CI, fails) that spec.
 */
export function storeOpener(routes: RoutesDefinition, middleware?: Config["middleware"]) {
  const opened = new Map<string, Promise<OpenStore>>();

  async function open(ctx: Mocha.Context, store: StoreCase): Promise<OpenStore> {
    if (store.service) await useService(ctx, store.service);
    let pending = opened.get(store.label);
    if (!pending) {
      pending = (async () => {
        // First: the database store's table must be installed before its app starts.
        const backend = await store.inspect?.();
        const app = testApp({
          routes,
          ...(middleware ? { middleware } : {}),
          ...(store.name === "cookie" ? {} : { store: store.name }),
          options: store.options(),
        });
        await app.ready();
        return { app, backend };
      })();
      opened.set(store.label, pending);
    }
    return pending;
  }

  async function close(): Promise<void> {
    const all = await Promise.allSettled(opened.values());
    opened.clear();
    for (const result of all) {
      if (result.status !== "fulfilled") continue;
      await result.value.app.close();
      await result.value.backend?.close();
    }
  }

  return { open, close };
}

/** Removes the sqlite directory; call from a root `after`. */
export function removeScratch(): void {
  if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
  sqliteDir = undefined;
}
