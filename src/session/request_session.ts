import type { Context } from "koa";
import type { SessionCookie } from "./cookie.js";
import { reportSuspicious } from "./events.js";
import { expiryOf, pastAbsoluteTimeout } from "./expiry.js";
import { newSessionId } from "./ids.js";
import type { Lookup, PreviousStore } from "./migration.js";
import type { ResolvedSessionOptions } from "./options.js";
import { emptyRecord, isEmptyRecord, type SessionRecord } from "./record.js";
import { internals, Session, type SessionInternals } from "./session.js";
import type { Loaded, LoadResult, SessionStore } from "./stores/store.js";

// One request's session, between the cookie and the store: the load (before the handler for server-side
// stores), the commit decision after it, and the move from a previous store. middleware.ts creates one per
// request.

/** One request's view of its session: reads the cookie on first use and commits after the handler. */
export class RequestSession {
  readonly #ctx: Context;
  readonly #store: SessionStore;
  readonly #cookie: SessionCookie;
  readonly #options: ResolvedSessionOptions;
  readonly #clock: () => number;
  /** config.session.previousStore, when the app is moving between stores. */
  readonly #previous: PreviousStore | undefined;
  #session: Session | undefined;
  #cookieRead = false;
  #incomingValue: string | undefined;
  /** The value came in under the previous store's cookie name (the current cookie was absent). */
  #underPreviousName = false;
  /** With a previous store: where preload() found the value. */
  #lookup: Lookup | undefined;
  /** The value of a record found in the previous store, to save to the current one and destroy there. */
  #migrating: string | undefined;
  /** What the store held for it, when it held something valid. */
  #loaded: Loaded | undefined;
  /** Server-side stores: what preload() found, or why it failed. */
  #preloaded: LoadResult;
  #preloadError: unknown;
  /** Run first when the request commits (the flash writes itself back into the session). */
  #beforeCommit: (() => void)[] | undefined;

  constructor(
    ctx: Context,
    store: SessionStore,
    cookie: SessionCookie,
    options: ResolvedSessionOptions,
    clock: () => number,
    previous: PreviousStore | undefined,
  ) {
    this.#ctx = ctx;
    this.#store = store;
    this.#cookie = cookie;
    this.#options = options;
    this.#clock = clock;
    this.#previous = previous;
  }

  get session(): Session {
    this.#session ??= new Session(
      () => this.#load(),
      this.#clock,
      this.#store.usesIds ? newSessionId : undefined,
    );
    return this.#session;
  }

  /**
   * Server-side stores load by I/O, which the synchronous Session API cannot wait for: when a cookie came
   * in, the record is read before the handler runs. A failure is kept and thrown when the session is first
   * used, so a route that never uses it is not answered 503 because the store is down.
   */
  async preload(): Promise<void> {
    const value = this.#incoming;
    if (value === undefined || value === "") return;
    try {
      if (this.#previous === undefined) this.#preloaded = await this.#store.load(value, this.#clock());
      else
        this.#lookup = await this.#previous.lookup(
          this.#store,
          value,
          this.#underPreviousName,
          this.#clock(),
        );
    } catch (err) {
      this.#preloadError = err;
    }
  }

  /** The cookie as it came in (valid or not); undefined when the request had none. Read once. */
  get #incoming(): string | undefined {
    if (!this.#cookieRead) {
      this.#incomingValue = this.#cookie.read(this.#ctx);
      if (this.#incomingValue === undefined && this.#previous !== undefined) {
        this.#incomingValue = this.#previous.read(this.#ctx);
        this.#underPreviousName = this.#incomingValue !== undefined;
      }
      this.#cookieRead = true;
    }
    return this.#incomingValue;
  }

  #load(): SessionRecord {
    const now = this.#clock();
    const value = this.#incoming;
    if (value === undefined) return emptyRecord(now);
    if (this.#preloadError !== undefined) throw this.#preloadError;
    if (this.#previous !== undefined && value !== "") return this.#loadFromEither(value, now);
    const result: LoadResult =
      value === ""
        ? { rejected: "malformed" }
        : this.#store.usesIds
          ? this.#preloaded
          : (this.#store.load(value, now) as LoadResult);
    if (result === undefined) return emptyRecord(now);
    if ("rejected" in result) {
      reportSuspicious(result.rejected, this.#store.name);
      return emptyRecord(now);
    }
    if (pastAbsoluteTimeout(result.record, this.#options, now)) {
      reportSuspicious("absolute-timeout", this.#store.name);
      return emptyRecord(now);
    }
    this.#loaded = result;
    internals(this.#session!).setId(value);
    return result.record;
  }

  /** #load with a previous store: the current store's record, else the previous one's, to be moved. */
  #loadFromEither(value: string, now: number): SessionRecord {
    // Both stores answer synchronously when preload() did not run (a cookie store in each place).
    const lookup =
      this.#lookup ?? (this.#previous!.lookup(this.#store, value, this.#underPreviousName, now) as Lookup);
    const result = lookup.result;
    if (result === undefined) return emptyRecord(now);
    if ("rejected" in result) {
      reportSuspicious(result.rejected, lookup.store.name);
      return emptyRecord(now);
    }
    if (pastAbsoluteTimeout(result.record, this.#options, now)) {
      reportSuspicious("absolute-timeout", lookup.store.name);
      return emptyRecord(now);
    }
    if (lookup.migrating) {
      // Saved under a new id: an id is never carried into another store. The handler sees it already.
      this.#migrating = value;
      internals(this.#session!).ensureId();
      return result.record;
    }
    this.#loaded = result;
    internals(this.#session!).setId(value);
    return result.record;
  }

  /** `hook` runs when this request commits, before the decision (not when downstream threw). */
  beforeCommit(hook: () => void): void {
    if (this.#beforeCommit === undefined) this.#beforeCommit = [];
    this.#beforeCommit.push(hook);
  }

  /**
   * The commit decision table (Rack, Django, AdonisJS):
   * | session                         | does                                                    |
   * | never used                      | nothing: no Set-Cookie, no Vary                         |
   * | used, response 5xx              | Vary: Cookie only; nothing saved                        |
   * | flushed or cycled               | the old record is destroyed, then as below              |
   * | empty, a cookie came in         | its record destroyed, the cookie cleared                |
   * | empty, no cookie came in        | nothing                                                 |
   * | modified                        | saved (merged onto the current record where the store   |
   * |                                 | can), Set-Cookie; destroyed meanwhile: cookie cleared   |
   * | unchanged, expiry would move by | touched (cookie store: resealed), Set-Cookie            |
   * |   at least touchAfter           |                                                         |
   * | unchanged otherwise             | nothing                                                 |
   * | found in the previous store     | saved to this store under a new id, changed or not, then |
   * |                                 | destroyed in the previous one (previousStore)           |
   */
  commit(): Promise<void> | undefined {
    if (this.#beforeCommit) for (const hook of this.#beforeCommit) hook();
    const session = this.#session;
    // Most requests never touch the session: no promise for them (this runs on every request).
    if (!session?.accessed) return undefined;
    const ctx = this.#ctx;
    // Most responses have no Vary yet: set it outright, merging through Koa's vary() only when there is one.
    const res = ctx.res;
    if (!res.headersSent) {
      if (res.getHeader("Vary") === undefined) res.setHeader("Vary", "Cookie");
      else ctx.vary("Cookie");
    }
    if (ctx.status >= 500) return undefined;
    // One session's commits in this process take turns in the store, which writes the ones that queued up
    // together as one (stores/hot_keys.ts); other processes race by compare-and-set.
    return this.#applyToStore(session);
  }

  /** An unchanged loaded session whose expiry would move by at least touchAfter is written again. */
  #touchDue(expiresAt: number): boolean {
    return (
      this.#loaded !== undefined && expiresAt - this.#loaded.expiresAt >= this.#options.touchAfter * 1000
    );
  }

  /**
   * Persists per the table above. Synchronous as far as the store is (the cookie store seals in place): a
   * promise only where a store answers with one, so a cookie write makes no async layer of its own.
   */
  #applyToStore(session: Session): Promise<void> | undefined {
    const state = internals(session);
    // cycleKey() on a store that moves records itself: no separate destroy (the move is its own guard).
    // After flush() there is nothing to move: the old record is destroyed and the data is a new session.
    const move =
      state.cycled &&
      !state.flushed &&
      this.#loaded !== undefined &&
      this.#store.movesOnCycle === true &&
      !isEmptyRecord(state.record);
    // flush() may come before anything was read: the record it ends is the one the cookie names.
    if ((state.flushed && this.#incoming !== undefined) || (state.cycled && this.#loaded && !move)) {
      return after(this.#destroyIncoming(), () => this.#persist(session, state, move));
    }
    return this.#persist(session, state, move);
  }

  /** Destroys the record the incoming cookie names, in the store it belongs to. */
  #destroyIncoming(): void | Promise<void> {
    const value = this.#incoming!;
    const previous = this.#previous;
    if (previous === undefined || this.#loaded !== undefined) return this.#store.destroy(value);
    if (this.#migrating !== undefined || this.#underPreviousName) return previous.store.destroy(value);
    // Never read (flush() first), or known to neither: it may be either store's.
    return after(this.#store.destroy(value), () => previous.store.destroy(value));
  }

  #persist(session: Session, state: SessionInternals, move: boolean): Promise<void> | undefined {
    const ctx = this.#ctx;
    const record = state.record;
    if (isEmptyRecord(record)) {
      // Emptied: the record goes too (unless flush already took it), so a copied cookie is worth nothing.
      const clear = () => {
        if (this.#incoming !== undefined) this.#clearIncoming();
      };
      if (this.#loaded && !state.flushed && !state.cycled)
        return after(this.#store.destroy(this.#incoming!), clear);
      if (this.#migrating !== undefined && !state.flushed)
        return after(this.#previous!.store.destroy(this.#migrating), clear);
      clear();
      return undefined;
    }
    const now = this.#clock();
    const expiresAt = expiryOf(record, this.#options, now);
    const cookieExpiry = record.browserSession ? undefined : expiresAt;
    // After flush() the previous record is already destroyed: what is left is a new session like any other.
    if (this.#migrating !== undefined && !state.flushed)
      return this.#migrate(state, this.#migrating, expiresAt, cookieExpiry, now);
    if (session.modified) {
      const existing = this.#loaded !== undefined && !state.flushed && !state.cycled;
      const context = { existing, changes: state.changes, ...(move ? { replacing: this.#incoming! } : {}) };
      return after(this.#store.save(record, expiresAt, state.ensureId(), now, context), (value) => {
        if (value === undefined) {
          // Destroyed by another request meanwhile: it stays destroyed. A lost parallel cycleKey leaves the
          // cookie to the request that won (its Set-Cookie carries the one valid id).
          if (!move) this.#cookie.clear(ctx);
        } else {
          this.#writeCookie(value, cookieExpiry);
        }
      });
    }
    if (this.#touchDue(expiresAt)) {
      return after(this.#store.touch(record, expiresAt, this.#incoming!, now), (value) =>
        this.#cookie.write(ctx, value, cookieExpiry),
      );
    }
    return undefined;
  }

  /**
   * A record found in the previous store goes to this one, as a new record under a new id, then leaves the
   * previous store. Destroy wins: one destroyed there meanwhile (a sign-out in another request) is not
   * brought back. Saved first, destroyed after, so a failed save leaves the session where it was.
   */
  #migrate(
    state: SessionInternals,
    from: string,
    expiresAt: number,
    cookieExpiry: number | undefined,
    now: number,
  ): Promise<void> | undefined {
    const previous = this.#previous!;
    return after(previous.stillThere(from, now), (there) => {
      if (!there) {
        this.#clearIncoming();
        return undefined;
      }
      const context = { existing: false, changes: state.changes };
      return after(this.#store.save(state.record, expiresAt, state.ensureId(), now, context), (value) => {
        if (value === undefined) return this.#clearIncoming();
        this.#writeCookie(value, cookieExpiry);
        return after(previous.store.destroy(from), () => undefined);
      });
    });
  }

  /** Sends the session cookie; a value that came in under the previous cookie's name has that cookie cleared. */
  #writeCookie(value: string, expiresAt: number | undefined): void {
    this.#cookie.write(this.#ctx, value, expiresAt);
    if (this.#underPreviousName) this.#previous!.cookie!.clear(this.#ctx);
  }

  /** Clears the cookie the request came in with. */
  #clearIncoming(): void {
    (this.#underPreviousName ? this.#previous!.cookie! : this.#cookie).clear(this.#ctx);
  }
}

/**
 * `then(value)` now when a store answered synchronously, or when its promise settles: sync stores (the
 * cookie store) commit without a microtask hop, async ones as before. A thenable that is not a native
 * promise (a custom store's) is adopted by Promise.resolve.
 */
function after<T>(
  value: T | PromiseLike<T>,
  then: (value: T) => Promise<void> | undefined | void,
): Promise<void> | undefined {
  if (isThenable(value)) return Promise.resolve(value).then(then) as Promise<void>;
  return then(value) ?? undefined;
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}
