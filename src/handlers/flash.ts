import type { Context, Middleware } from "koa";
import { InvalidSessionValueError, SessionNotEnabledError } from "../session/errors.js";
import { beforeSessionCommit } from "../session/middleware.js";
import { internals } from "../session/session.js";

/** Set by the flash middleware on each request it sees. */
const kEnabled = Symbol("stoat.flash.enabled");
/** This request's Flash, made on first use. */
const kFlash = Symbol("stoat.flash");

declare module "koa" {
  interface DefaultContext {
    /** Messages for the next request (Rails' flash); needs the "flash" middleware. */
    readonly flash: Flash;
  }
}

interface Entry {
  message: string;
  /** Dropped when this request commits. */
  discard: boolean;
}

/**
 * Rails' flash: a message set now is readable now and in the next request, then gone. It lives in the
 * session under Stoat's reserved key and loads only when used, so a request that never looks at it (an API
 * call between a redirect and the page) leaves it for the page.
 */
export class Flash {
  readonly #ctx: Context;
  #entries: Map<string, Entry> | undefined;

  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  get #map(): Map<string, Entry> {
    if (!this.#entries) {
      this.#entries = new Map();
      // What the previous request left is shown in this one, then discarded.
      for (const [key, message] of internals(this.#ctx.session).record.flash) {
        this.#entries.set(key, { message, discard: true });
      }
    }
    return this.#entries;
  }

  /** Shows `message` in this request and the next one. */
  set(key: string, message: string): void {
    this.#map.set(key, { message: checked(key, message), discard: false });
  }

  /** Shows `message` in this request only (Rails' `flash.now`). */
  now(key: string, message: string): void {
    this.#map.set(key, { message: checked(key, message), discard: true });
  }

  get(key: string): string | undefined {
    return this.#map.get(key)?.message;
  }

  has(key: string): boolean {
    return this.#map.has(key);
  }

  /** Keeps `key` (or every message) for one more request. */
  keep(key?: string): void {
    for (const [k, entry] of this.#map) if (key === undefined || k === key) entry.discard = false;
  }

  /** Every message visible in this request. */
  toJSON(): Record<string, string> {
    return Object.fromEntries([...this.#map].map(([key, entry]) => [key, entry.message]));
  }

  /** Writes what survives this request back into the session. */
  commit(): void {
    if (!this.#entries) return;
    const next = new Map<string, string>();
    for (const [key, entry] of this.#entries) if (!entry.discard) next.set(key, entry.message);
    internals(this.#ctx.session).setFlash(next);
  }
}

function checked(key: unknown, message: unknown): string {
  if (typeof key !== "string" || typeof message !== "string") {
    throw new InvalidSessionValueError(
      `flash messages are strings under string keys, got ${typeof message} under ${typeof key === "string" ? JSON.stringify(key) : typeof key}`,
    );
  }
  return message;
}

/**
 * The `flash` middleware; it sits inside `session`. It only marks the request: a Flash is made when a handler
 * first uses `this.flash`, and writes itself back when the session commits (beforeSessionCommit), so a
 * request that never looks at the flash pays for no async layer around it.
 */
export function flashMiddleware(): Middleware {
  return function flash(ctx, next) {
    (ctx as unknown as Record<symbol, boolean>)[kEnabled] = true;
    return next();
  };
}

export function defineFlashAccessor(context: object): void {
  Object.defineProperty(context, "flash", {
    configurable: true,
    get(this: Context & Record<symbol, unknown>) {
      if (this[kEnabled] !== true) {
        throw new SessionNotEnabledError(
          'the flash is not enabled: add "flash" (after "session") to config.middleware',
        );
      }
      let flash = this[kFlash] as Flash | undefined;
      if (!flash) {
        const made = new Flash(this);
        beforeSessionCommit(this, () => made.commit());
        this[kFlash] = made;
        flash = made;
      }
      return flash;
    },
  });
}
