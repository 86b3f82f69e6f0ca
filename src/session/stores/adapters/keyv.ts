import type { Keyv } from "keyv";
import { ConfigError } from "../../errors.js";
import type { Backend } from "../backend.js";
import { KeyvBackend } from "../keyv_backend.js";
import { defineStore } from "./definition.js";
import { keyvClass } from "./import_adapter.js";
import type { AdapterOptions } from "./options.js";

// The user's own Keyv instance, made to fail loudly like the others.

export async function openKeyv(options: AdapterOptions): Promise<Backend> {
  const Keyv = await keyvClass();
  const keyv = options.keyv;
  if (!(keyv instanceof Keyv || looksLikeKeyv(keyv))) {
    const got =
      typeof keyv === "object" && keyv !== null ? (keyv.constructor?.name ?? "an object") : String(keyv);
    throw new ConfigError(
      `session store "keyv" needs a Keyv instance as \`keyv\` (new Keyv(...)), got ${got}`,
    );
  }
  if (options.namespace !== undefined) keyv.namespace = options.namespace;
  // Adapters with their own switches (@keyv/redis): make them throw too.
  const store = keyv.opts.store as Record<string, unknown> | undefined;
  if (store && typeof store === "object") {
    if ("throwOnErrors" in store) store.throwOnErrors = true;
    if ("throwOnConnectError" in store) store.throwOnConnectError = true;
  }
  // The instance belongs to the app: closing the session store does not disconnect it.
  return new KeyvBackend(keyv, { name: "keyv", timeoutMs: options.timeoutMs, close: () => {} });
}

/** A Keyv from another copy of the package (instanceof fails across copies). */
function looksLikeKeyv(value: unknown): value is Keyv {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    ["get", "set", "delete", "on"].every((method) => typeof candidate[method] === "function") &&
    typeof candidate.opts === "object" &&
    candidate.opts !== null &&
    "store" in candidate.opts
  );
}

export const keyvStore = defineStore({
  name: "keyv",
  rules: { keyv: { check: (v) => (typeof v === "object" && v !== null ? undefined : "a Keyv instance") } },
  open: openKeyv,
});
