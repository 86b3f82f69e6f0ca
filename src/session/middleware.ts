import type Koa from "koa";
import type { Context, Middleware } from "koa";
import { SessionCookie } from "./cookie.js";
import { SessionNotEnabledError } from "./errors.js";
import { PreviousStore } from "./migration.js";
import type { ResolvedSessionOptions } from "./options.js";
import { RequestSession } from "./request_session.js";
import type { Session } from "./session.js";
import type { SessionStore } from "./stores/store.js";

const kRequestSession = Symbol("stoat.session");

declare module "koa" {
  interface DefaultContext {
    /** This request's session; throws SessionNotEnabledError when the session middleware is not installed. */
    readonly session: Session;
  }
}

/** config.session.previousStore, opened, with its resolved previousOptions. */
export interface PreviousStoreSetup {
  store: SessionStore | Promise<SessionStore>;
  options: ResolvedSessionOptions;
}

/** The `session` middleware: gives each request a lazy `ctx.session` and commits it after downstream. */
export function sessionMiddleware(
  store: SessionStore | Promise<SessionStore>,
  options: ResolvedSessionOptions,
  clock: () => number,
  production: boolean,
  previous?: PreviousStoreSetup,
): Middleware {
  const cookie = new SessionCookie(options, production);
  let previousStore: PreviousStore | undefined;
  /** Server-side stores (in either place) read before the handler runs; decided once, when they open. */
  let preloads = false;
  const opened = (current: SessionStore, before: SessionStore | undefined) => {
    if (before) previousStore = new PreviousStore(before, previous!.options, options, production);
    preloads = previousStore ? previousStore.preloads(current) : current.usesIds === true;
    return current;
  };
  // A store that connects asynchronously is awaited once; after that the hot path has no extra await.
  let ready =
    store instanceof Promise || previous?.store instanceof Promise
      ? undefined
      : opened(store, previous?.store as SessionStore | undefined);
  const pending = ready
    ? undefined
    : Promise.all([store, previous?.store]).then(([current, before]) => (ready = opened(current, before)));
  // A store that fails to open rejects every request through `pending`; until one comes, not unhandled.
  pending?.catch(() => {});
  // Promise chains, not an async function: this wraps every request, and each async layer is a promise more.
  return function session(ctx, next): Promise<void> {
    if (ready === undefined) return pending!.then(() => session(ctx, next));
    const request = new RequestSession(ctx, ready, cookie, options, clock, previousStore);
    (ctx as unknown as Record<symbol, RequestSession>)[kRequestSession] = request;
    // Inline arrows, not a named const: tsx (keepNames) gives every named closure a __name() call, and this
    // one would be made on every request.
    if (preloads)
      return request
        .preload()
        .then(() => next())
        .then(() => request.commit());
    return next().then(() => request.commit());
  };
}

/**
 * Runs `hook` when this request's session commits, first (the flash middleware's write-back: no async layer
 * of its own around every request). Throws SessionNotEnabledError without the session middleware.
 */
export function beforeSessionCommit(ctx: Context, hook: () => void): void {
  const request = (ctx as unknown as Record<symbol, RequestSession | undefined>)[kRequestSession];
  if (!request) throw new SessionNotEnabledError('the flash needs "session" in config.middleware');
  request.beforeCommit(hook);
}

/** Defines `ctx.session` on a Koa app's context prototype: a getter, memoised per request (Koa style). */
export function defineSessionAccessor(koa: Koa): void {
  Object.defineProperty(koa.context, "session", {
    configurable: true,
    get(this: Record<symbol, RequestSession | undefined>) {
      const request = this[kRequestSession];
      if (!request) {
        throw new SessionNotEnabledError(
          'sessions are not enabled: add "session" to config.middleware to use ctx.session / this.session',
        );
      }
      return request.session;
    },
  });
}
