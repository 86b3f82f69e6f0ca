import { expiryOf } from "../expiry.js";
import type { SerializerName } from "../sealing/codec.js";
import { rules, type Schema } from "../validation.js";
import type { AdapterOptions, StoreDefinition } from "./adapters/index.js";
import { ServerStore } from "./server_store.js";
import type { StoreFactory } from "./store.js";

// A server-side store's factory from its definition: its options beside the ones every server-side store
// takes, and the one ServerStore core over the persistence it opens.

/** Options every server-side store takes (the `database` store all but namespace: it has a table). */
export const serverStoreRules: Schema = {
  encrypt: rules.boolean(),
  serializer: rules.oneOf("msgpack", "json"),
  timeout: {
    check: (v) =>
      typeof v === "number" && v > 0 && v <= 60 ? undefined : "a number of seconds above 0, at most 60",
  },
  namespace: rules.string(/^[\w:.-]{1,64}$/, "letters, digits and _ : . - (at most 64)"),
};

export function serverStoreFactory(definition: StoreDefinition): StoreFactory {
  return {
    rules: { ...serverStoreRules, ...(definition.rules ?? {}) },
    create(options, given) {
      // Checked here, before anything is opened, so that it fails at boot like a bad value.
      definition.check?.(given);
      return openStore(definition, options, given);
    },
  };
}

async function openStore(
  definition: StoreDefinition,
  options: Parameters<StoreFactory["create"]>[0],
  given: Record<string, unknown>,
): Promise<ServerStore> {
  const timeoutMs = Math.round(((given.timeout as number | undefined) ?? 2) * 1000);
  // The store's own options as given: its rules checked each one at boot.
  const backend = await definition.open({
    ...given,
    timeoutMs,
    ttlMs: options.expireAfter * 1000,
  } as AdapterOptions);
  return new ServerStore(definition.name, backend, {
    secrets: options.secrets,
    encrypt: (given.encrypt as boolean | undefined) ?? true,
    serializer: (given.serializer as SerializerName | undefined) ?? "msgpack",
    expiry: (record, now) => expiryOf(record, options, now),
  });
}
