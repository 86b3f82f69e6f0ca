import { stringifySetCookie } from "cookie";
import type { Context } from "koa";
import { CookieOverflowError } from "./errors.js";
import type { ResolvedSessionOptions } from "./options.js";

/** Browsers keep at most 4096 bytes of a Set-Cookie (name, value and attributes). */
export const MAX_COOKIE_BYTES = 4096;

/**
 * Reads and writes the session cookie with the configured attributes. Secure "auto" follows the request
 * (Koa's `ctx.secure`, which honours `app.proxy` and X-Forwarded-Proto) and is always on in production.
 */
export class SessionCookie {
  readonly #options: ResolvedSessionOptions;
  readonly #alwaysSecure: boolean;

  constructor(options: ResolvedSessionOptions, production: boolean) {
    this.#options = options;
    this.#alwaysSecure = options.secure === true || (options.secure === "auto" && production);
  }

  get name(): string {
    return this.#options.key;
  }

  /** The raw value, or undefined without one. Only the Cookie header is read: never the URL or the body (S9). */
  read(ctx: Context): string | undefined {
    return ctx.cookies.get(this.#options.key, { signed: false });
  }

  /** Sends `value`; `expiresAt` undefined makes a browser-session cookie. Throws CookieOverflowError. */
  write(ctx: Context, value: string, expiresAt: number | undefined): void {
    const header = this.#header(ctx, value, expiresAt === undefined ? undefined : new Date(expiresAt));
    const bytes = Buffer.byteLength(header);
    if (bytes > MAX_COOKIE_BYTES) {
      throw new CookieOverflowError(
        `the session cookie would be ${bytes} bytes, over the ${MAX_COOKIE_BYTES}-byte limit browsers keep: ` +
          "store less in the session, or switch to a server-side store",
      );
    }
    this.#send(ctx, header);
  }

  /** Tells the browser to drop the cookie (same name, path and domain, expired). */
  clear(ctx: Context): void {
    this.#send(ctx, this.#header(ctx, "", new Date(0)));
  }

  #header(ctx: Context, value: string, expires: Date | undefined): string {
    const o = this.#options;
    return stringifySetCookie(o.key, value, {
      path: o.path,
      domain: o.domain,
      expires,
      httpOnly: o.httpOnly,
      secure: this.#alwaysSecure || (o.secure === "auto" && ctx.secure),
      sameSite: o.sameSite === false ? undefined : o.sameSite,
    });
  }

  #send(ctx: Context, header: string): void {
    ctx.append("Set-Cookie", header);
    // A response that sets a session cookie is one user's: keep it out of shared caches (S8).
    const cacheControl = ctx.response.get("Cache-Control");
    if (!/\b(private|no-store)\b/.test(cacheControl)) ctx.set("Cache-Control", "private, no-store");
  }
}
