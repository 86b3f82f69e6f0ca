import type { ResolvedSessionOptions } from "../options.js";
import { fromPayload, type SessionRecord, toPayload } from "../record.js";
import { IronSealer } from "../sealing/seal.js";
import type { LoadResult, SessionStore, StoreFactory } from "./store.js";

/**
 * The default store: the whole record lives in an iron-sealed (`Fe26.2`) cookie, readable by iron-session
 * with the same secret. No server, so nothing to destroy: a copied cookie stays valid until it expires
 * (docs/stores.md says so; use a server-side store when sign-out must end a session everywhere at once).
 */
export class CookieStore implements SessionStore {
  readonly name = "cookie";
  readonly usesIds = false;
  readonly #sealer: IronSealer;

  constructor(options: Pick<ResolvedSessionOptions, "secrets">) {
    this.#sealer = new IronSealer(options.secrets);
  }

  load(cookieValue: string, now: number): LoadResult {
    const opened = this.#sealer.unseal(cookieValue, now);
    if (!opened.ok) return { rejected: opened.reason };
    const record = fromPayload(opened.data, now);
    return record ? { record, expiresAt: opened.expiresAt } : { rejected: "payload" };
  }

  save(record: SessionRecord, expiresAt: number): string {
    return this.#sealer.sealOwned(toPayload(record), expiresAt);
  }

  touch(record: SessionRecord, expiresAt: number): string {
    return this.save(record, expiresAt);
  }

  destroy(): void {}
}

export const cookieStoreFactory: StoreFactory = {
  rules: {},
  create: (options) => new CookieStore(options),
};
