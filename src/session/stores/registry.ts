import { UnknownStoreError } from "../errors.js";
import { type BackendName, KEYV_STORES } from "./adapters/index.js";
import { cookieStoreFactory } from "./cookie_store.js";
import { databaseStoreFactory } from "./database/factory.js";
import { serverStoreFactory } from "./server_factories.js";
import type { SessionStore, StoreFactory } from "./store.js";

// Store names -> factories (Marten's store registry): an unknown name fails at boot, never at first request.

/** The stores Stoat ships, for `config.session.store`; `registerStore` adds others under names of their own. */
export type StoreName = "cookie" | BackendName | "database" | (string & {});

const factories = new Map<string, StoreFactory>([
  ["cookie", cookieStoreFactory],
  ...KEYV_STORES.map((definition) => [definition.name, serverStoreFactory(definition)] as const),
  ["database", databaseStoreFactory],
]);

/** Adds or replaces a named store, for plugins and specs. */
export function registerStore(name: string, factory: StoreFactory): void {
  factories.set(name, factory);
}

export function storeNames(): string[] {
  return [...factories.keys()];
}

export function storeFactory(name: string): StoreFactory {
  const factory = factories.get(name);
  if (!factory) {
    throw new UnknownStoreError(
      `config.session.store ${JSON.stringify(name)} is not a session store (known: ${storeNames().join(", ")})`,
    );
  }
  return factory;
}

/** A store instance passed directly as `config.session.store`. */
export function isSessionStore(value: unknown): value is SessionStore {
  const store = value as SessionStore;
  return (
    typeof value === "object" &&
    value !== null &&
    typeof store.name === "string" &&
    ["load", "save", "touch", "destroy"].every(
      (m) => typeof (store as unknown as Record<string, unknown>)[m] === "function",
    )
  );
}
