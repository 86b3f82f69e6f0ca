import type Koa from "koa";
import type { Context, Middleware } from "koa";
import { csrfTokenMatches, maskCsrfToken } from "./csrf_token.js";
import { InvalidCsrfTokenError } from "./errors.js";
import { ownOrigin, sameOrigin } from "./origin.js";
import { internals } from "./session.js";

// Cross-site request forgery protection (Rails' protect_from_forgery, Django's CsrfViewMiddleware): a
// request that changes state must come from this origin and carry a token only this session's pages hold.
// Both checks, since each covers what the other cannot: the origin check stops a forged form even before
// sign-in (login CSRF), and the token covers browsers that send neither Origin nor Sec-Fetch-Site.

declare module "koa" {
  interface DefaultContext {
    /** A CSRF token for this session, masked afresh on each read; starts a session like any session use. */
    readonly csrfToken: string;
  }
}

/** The form field and the header a token may come in. */
export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

/** Methods that must not change state, so they need no token (RFC 9110's safe methods). */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/**
 * The `csrf` middleware, after `session`: any other method needs a same-origin request carrying this
 * session's token, else InvalidCsrfTokenError (403) before anything downstream runs, so nothing is written.
 * `protects` says whether the request goes to a handler that wants the check.
 */
export function csrfMiddleware(protects: (ctx: Context) => boolean): Middleware {
  return function csrf(ctx, next) {
    if (SAFE_METHODS.has(ctx.method) || !protects(ctx)) return next();
    const refusal = refusalOf(ctx);
    if (refusal !== undefined) throw new InvalidCsrfTokenError(`Forbidden: ${refusal}`);
    return next();
  };
}

/** Why the request is refused, or undefined when it is same-origin with a valid token. */
function refusalOf(ctx: Context): string | undefined {
  const origin = ctx.get("Origin");
  if (origin !== "") {
    // "null" (a sandboxed or file: page) parses as no origin, so it is never this one.
    if (!sameOrigin(origin, ownOrigin(ctx))) return "the request comes from another origin";
  } else {
    // Browsers send Sec-Fetch-Site where they omit Origin; "none" is the user's own navigation.
    const site = ctx.get("Sec-Fetch-Site");
    if (site !== "" && site !== "same-origin" && site !== "none") {
      return "the request comes from another site";
    }
  }
  const token = ctx.get(CSRF_HEADER) || formToken(ctx);
  if (token === "")
    return `the request has no CSRF token (form field ${CSRF_FIELD} or ${CSRF_HEADER} header)`;
  // The stored secret only: a request that brings a token never mints a secret to check it against.
  const secret = internals(ctx.session).record.csrf;
  if (secret === undefined || !csrfTokenMatches(token, secret)) return "the CSRF token is not this session's";
  return undefined;
}

function formToken(ctx: Context): string {
  const body = (ctx.request as { body?: unknown }).body;
  if (typeof body !== "object" || body === null) return "";
  const value = Object.hasOwn(body, CSRF_FIELD) ? (body as Record<string, unknown>)[CSRF_FIELD] : undefined;
  return typeof value === "string" ? value : "";
}

/** Defines `ctx.csrfToken`: a fresh mask of the session's secret, made on first use. */
export function defineCsrfAccessor(koa: Koa): void {
  Object.defineProperty(koa.context, "csrfToken", {
    configurable: true,
    get(this: Context) {
      return maskCsrfToken(internals(this.session).csrfSecret());
    },
  });
}
