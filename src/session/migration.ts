import type { Context } from "koa";
import { SessionCookie } from "./cookie.js";
import type { SuspiciousReason } from "./events.js";
import type { ResolvedSessionOptions } from "./options.js";
import type { LoadResult, SessionStore } from "./stores/store.js";

// `config.session.previousStore`: the store an app ran on before, still read while its sessions live, so
// that switching stores signs nobody out. A session the current store does not know is looked up there;
// the middleware then saves it to the current store (under a new id: an id never moves between stores) and
// destroys it in the previous one. Apps without a previous store never build one of these.

/** Where an incoming value was found, or refused. */
export interface Lookup {
  result: LoadResult;
  /** True when the record came from the previous store: it is to be moved to the current one. */
  migrating: boolean;
  /** The store that answered (named in a suspicious-cookie report). */
  store: SessionStore;
}

export class PreviousStore {
  readonly store: SessionStore;
  /**
   * The previous cookie when its name, domain or path differ from the current one's: read when the current
   * cookie is absent, cleared once its session has moved. Undefined when both are the same cookie.
   */
  readonly cookie: SessionCookie | undefined;

  constructor(
    store: SessionStore,
    options: ResolvedSessionOptions,
    current: ResolvedSessionOptions,
    production: boolean,
  ) {
    this.store = store;
    const same =
      options.key === current.key && options.domain === current.domain && options.path === current.path;
    this.cookie = same ? undefined : new SessionCookie(options, production);
  }

  /** Whether a lookup needs I/O, so that the middleware reads before the handler runs. */
  preloads(current: SessionStore): boolean {
    return current.usesIds === true || this.store.usesIds === true;
  }

  /** The incoming value under the previous cookie's name, when the current cookie is absent. */
  read(ctx: Context): string | undefined {
    return this.cookie?.read(ctx);
  }

  /**
   * The record `value` names: the current store's when it has one, else the previous store's. A value that
   * came in under the previous cookie's name is not asked of the current store (it cannot hold it).
   */
  lookup(
    current: SessionStore,
    value: string,
    underPreviousName: boolean,
    now: number,
  ): Lookup | Promise<Lookup> {
    if (underPreviousName)
      return then(this.store.load(value, now), (result) => this.#answer(result, undefined));
    return then(current.load(value, now), (found) =>
      found !== undefined && "record" in found
        ? { result: found, migrating: false, store: current }
        : then(this.store.load(value, now), (result) =>
            this.#answer(result, { result: found, store: current }),
          ),
    );
  }

  /**
   * Whether the record is still in the previous store just before it is written to the current one: one
   * destroyed meanwhile (a sign-out in another request) is not brought back. The cookie store has nothing
   * to destroy, so a cookie that opened once opens again.
   */
  stillThere(value: string, now: number): boolean | Promise<boolean> {
    if (!this.store.usesIds) return true;
    return then(this.store.load(value, now), (result) => result !== undefined && "record" in result);
  }

  /**
   * The previous store's answer, or, when it refused the value too, the current one's. A value well formed
   * for either store and unknown to both is no attack (a session that ended): nothing to report. Refused by
   * both, the refusal of the store that recognised the format says more than the other's "malformed".
   */
  #answer(result: LoadResult, current: { result: LoadResult; store: SessionStore } | undefined): Lookup {
    if (result !== undefined && "record" in result) return { result, migrating: true, store: this.store };
    if (current === undefined) return { result, migrating: false, store: this.store };
    const mine = current.result as { rejected: SuspiciousReason } | undefined; // found: answered before
    if (result === undefined || mine === undefined)
      return { result: undefined, migrating: false, store: this.store };
    const previousSaysMore = mine.rejected === "malformed" && result.rejected !== "malformed";
    return previousSaysMore
      ? { result, migrating: false, store: this.store }
      : { result: current.result, migrating: false, store: current.store };
  }
}

/** `next(value)` now for a synchronous store's answer, after it settles for an asynchronous one. */
function then<T, U>(value: T | PromiseLike<T>, next: (value: T) => U | Promise<U>): U | Promise<U> {
  if (typeof (value as { then?: unknown } | null)?.then === "function")
    return Promise.resolve(value).then(next);
  return next(value as T);
}
