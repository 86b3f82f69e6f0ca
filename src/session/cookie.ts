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
  /** The attributes after `name=value`, without and with Secure: the same on every response. */
  readonly #attributes: string;
  readonly #secureAttributes: string;
  /** The session cookie's pair in a Cookie header: at the start or after a `;`, spaces allowed before the name. */
  readonly #pattern: RegExp;

  constructor(options: ResolvedSessionOptions, production: boolean) {
    this.#options = options;
    this.#alwaysSecure = options.secure === true || (options.secure === "auto" && production);
    // The cookie library checks the name, path and domain and spells the attributes, once: per response only
    // the value and Expires change, and validating and formatting every attribute each time is not free.
    const attributes = (secure: boolean) =>
      stringifySetCookie(options.key, "", {
        path: options.path,
        domain: options.domain,
        httpOnly: options.httpOnly,
        secure,
        sameSite: options.sameSite === false ? undefined : options.sameSite,
      }).slice(options.key.length + 1);
    this.#attributes = attributes(false);
    this.#secureAttributes = attributes(true);
    this.#pattern = new RegExp(`(?:^|;) *${options.key.replace(/[\^$\\.*+?()[\]{}|]/g, "\\$&")}=([^;]*)`);
  }

  get name(): string {
    return this.#options.key;
  }

  /**
   * The raw value, or undefined without one. Only the Cookie header is read: never the URL or the body.
   * Read as Koa's cookies library reads it (the first `name=` pair, surrounding quotes dropped), with the
   * pattern made once: `ctx.cookies` would build a Cookies object on every request for this one lookup.
   */
  read(ctx: Context): string | undefined {
    const header = ctx.req.headers.cookie;
    if (!header) return undefined;
    const match = this.#pattern.exec(header);
    if (match === null) return undefined;
    const value = match[1]!;
    return value[0] === '"' ? value.slice(1, -1) : value;
  }

  /** Sends `value`; `expiresAt` undefined makes a browser-session cookie. Throws CookieOverflowError. */
  write(ctx: Context, value: string, expiresAt: number | undefined): void {
    const header = this.#header(ctx, value, expiresAt);
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
    this.#send(ctx, this.#header(ctx, "", 0));
  }

  #header(ctx: Context, value: string, expiresAt: number | undefined): string {
    // The same check the cookie library makes on a value (cookie-octets: no space, quote, comma, semicolon).
    if (!COOKIE_VALUE.test(value))
      throw new TypeError("the session cookie value holds characters a cookie cannot");
    const o = this.#options;
    const secure = this.#alwaysSecure || (o.secure === "auto" && ctx.secure);
    const expires = expiresAt === undefined ? "" : `; Expires=${httpDate(expiresAt)}`;
    return `${o.key}=${value}${expires}${secure ? this.#secureAttributes : this.#attributes}`;
  }

  /**
   * On Node's response directly: Koa's `append` rebuilds the header as a new array and maps it, and its
   * `get`/`set` go through delegates, all on every write. The same rule as Koa's: nothing once headers are sent.
   */
  #send(ctx: Context, header: string): void {
    const res = ctx.res;
    if (res.headersSent) return;
    const previous = res.getHeader("Set-Cookie");
    res.setHeader(
      "Set-Cookie",
      previous === undefined
        ? header
        : Array.isArray(previous)
          ? [...previous, header]
          : [String(previous), header],
    );
    // A response that sets a session cookie is one user's: keep it out of shared caches.
    const cacheControl = res.getHeader("Cache-Control");
    if (cacheControl === undefined || !/\b(private|no-store)\b/.test(String(cacheControl)))
      res.setHeader("Cache-Control", "private, no-store");
  }
}

const COOKIE_VALUE = /^[\u0021-\u003A\u003C-\u007E]*$/;

/** An HTTP date (`Expires`), remembered for the last second asked: most responses expire in the same one. */
let lastSecond = Number.NaN;
let lastDate = "";
function httpDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastDate = new Date(second * 1000).toUTCString();
    lastSecond = second;
  }
  return lastDate;
}
