import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Application, RoutesDefinition, SessionOptions } from "stoat";
import { openBackend } from "../../src/session/stores/adapters/index.js";
import type { Backend } from "../../src/session/stores/backend.js";
import { testApp } from "../support/app.js";
import { type ServiceName, serviceUrl, useService } from "../support/services.js";

// The stores the hardening specs run on, each opened once per file on first use: the cookie store, and the
// server-side stores memory, redis (a real service: useService fails under CI when it is down) and sqlite.

export type HardeningStoreName = "cookie" | "memory" | "redis" | "sqlite";

export interface StoreCase {
  name: HardeningStoreName;
  service?: ServiceName;
  /** Session options of this store (besides the secret). */
  options(): SessionOptions & Record<string, unknown>;
}

const run = `${Date.now().toString(36)}-${process.pid}`;
let sqliteDir: string | undefined;
function sqliteFile(): string {
  sqliteDir ??= mkdtempSync(join(tmpdir(), "stoat-hardening-"));
  return join(sqliteDir, "sessions.sqlite3");
}

export const STORES: readonly StoreCase[] = [
  { name: "cookie", options: () => ({}) },
  { name: "memory", options: () => ({}) },
  {
    name: "redis",
    service: "redis",
    options: () => ({ url: serviceUrl("redis"), namespace: `hardening-${run}` }),
  },
  { name: "sqlite", options: () => ({ database: sqliteFile() }) },
];

export const SERVER_STORES = STORES.filter((s) => s.name !== "cookie");

export interface OpenStore {
  app: Application;
  /** A second connection to what is stored (redis, sqlite); the memory store has none. */
  backend?: Backend;
}

/**
 * One app per store and routes, made on first use and closed by `closeStores()`. Call from an `it` or a
 * hook with its mocha context, so an unreachable service skips (or, under CI, fails) that spec.
 */
export function storeOpener(routes: RoutesDefinition) {
  const opened = new Map<HardeningStoreName, Promise<OpenStore>>();

  async function open(ctx: Mocha.Context, store: StoreCase): Promise<OpenStore> {
    if (store.service) await useService(ctx, store.service);
    let pending = opened.get(store.name);
    if (!pending) {
      pending = (async () => {
        const options = store.options();
        const app = testApp({
          routes,
          ...(store.name === "cookie" ? {} : { store: store.name }),
          options,
        });
        await app.ready();
        let backend: Backend | undefined;
        if (store.name === "redis" || store.name === "sqlite") {
          backend = await openBackend(store.name, {
            url: options.url as string | undefined,
            database: options.database as string | undefined,
            namespace: options.namespace as string | undefined,
            timeoutMs: 2000,
            ttlMs: 60_000,
          });
        }
        return { app, backend };
      })();
      opened.set(store.name, pending);
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
