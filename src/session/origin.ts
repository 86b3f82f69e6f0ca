import type { Context } from "koa";

// The request's own origin, for the checks that keep requests and redirects on this site. Not Koa's
// `ctx.origin`, which (since Koa 3) is the Origin request header: what another site sends.

/** The scheme and host this request was made to (X-Forwarded-* when `config.proxy` trusts them). */
export function ownOrigin(ctx: Context): string {
  return `${ctx.protocol}://${ctx.host}`;
}

/** Whether two origins are one, as a browser serialises them (case, default ports); garbage is never one. */
export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
