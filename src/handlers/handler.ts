import type { Context, Request } from "koa";
import { CSRF_FIELD } from "../session/csrf.js";
import { UnsafeRedirectError } from "../session/errors.js";
import { ownOrigin } from "../session/origin.js";
import type { Session } from "../session/session.js";
import type { Flash } from "./flash.js";

export interface RespondOptions {
  status?: number;
  contentType?: string;
}

export interface RedirectOptions {
  /** 302 unless set (303 after a POST). */
  status?: number;
  /** Lets the target leave this origin (another host, another scheme); control characters stay refused. */
  allowOtherHost?: boolean;
}

/**
 * Base class of request handlers (Marten's handlers, Jets' controllers). One instance serves one request;
 * `session` and `flash` are delegated to the context, so they load only if an action uses them.
 */
export class Handler {
  readonly ctx: Context;
  #params: Record<string, string> | undefined;

  constructor(ctx: Context) {
    this.ctx = ctx;
  }

  /** Query, form/JSON body and path parameters (path wins), string values only, in a prototype-free object. */
  get params(): Record<string, string> {
    if (!this.#params) {
      const params: Record<string, string> = Object.create(null);
      const body = (this.ctx.request as { body?: unknown }).body;
      for (const source of [this.ctx.query, body, this.ctx.params]) {
        if (typeof source !== "object" || source === null) continue;
        for (const [key, value] of Object.entries(source as Record<string, unknown>)) {
          if (typeof value === "string") params[key] = value;
        }
      }
      this.#params = params;
    }
    return this.#params;
  }

  get query(): Context["query"] {
    return this.ctx.query;
  }

  get request(): Request {
    return this.ctx.request;
  }

  get session(): Session {
    return this.ctx.session;
  }

  get flash(): Flash {
    return this.ctx.flash;
  }

  /** A CSRF token for a form or an `X-CSRF-Token` header: masked afresh on each read, valid for the session. */
  get csrfToken(): string {
    return this.ctx.csrfToken;
  }

  /** The hidden form field that carries the CSRF token: put it in every form that posts. */
  csrfField(): string {
    return `<input type="hidden" name="${CSRF_FIELD}" value="${this.ctx.csrfToken}">`;
  }

  /**
   * Responds with JSON (`this.json(this.session)` sends the session's keys). Serialised now, not when Koa
   * writes the response: by then the session middleware has committed, so a session first read while
   * serialising would miss its Vary header and any change.
   */
  json(body: unknown, options: { status?: number } = {}): void {
    this.#send(JSON.stringify(body ?? null), JSON_TYPE, options.status);
  }

  /** Responds with text, `text/plain` unless `contentType` says otherwise. */
  respond(text: string, options: RespondOptions = {}): void {
    if (options.contentType === undefined) {
      this.#send(text, TEXT_TYPE, options.status);
    } else {
      this.ctx.body = text;
      this.ctx.type = options.contentType; // Koa's setter also takes a short name ("html") or an extension
      this.ctx.status = options.status ?? 200;
    }
  }

  html(markup: string, options: { status?: number } = {}): void {
    this.#send(markup, HTML_TYPE, options.status);
  }

  /**
   * Redirects to `url` (302 Found unless `status` says otherwise, e.g. 303 after a POST). Only to this
   * origin: a target a browser would take elsewhere throws UnsafeRedirectError (400, no Location), unless
   * `allowOtherHost` is true, so a `?return_to=` taken from a request cannot send users to another site.
   */
  redirect(url: string, options: RedirectOptions = {}): void {
    const refusal = redirectRefusal(url, ownOrigin(this.ctx), options.allowOtherHost === true);
    if (refusal !== undefined) throw new UnsafeRedirectError(`E_UNSAFE_REDIRECT: ${refusal}`);
    this.ctx.redirect(url);
    if (options.status) this.ctx.status = options.status;
  }

  /**
   * A full Content-Type set before the body: Koa's `ctx.type` setter looks the value up in the MIME table
   * on every call, and a string body set first is given a guessed type that is then replaced (two lookups a
   * response, a measurable part of a small request's cost).
   */
  #send(body: string, contentType: string, status = 200): void {
    const ctx = this.ctx;
    ctx.set("Content-Type", contentType);
    ctx.body = body;
    ctx.status = status;
  }

  /** Responds with a status and no body (Rails' `head :no_content`). */
  head(status: number): void {
    this.ctx.body = null; // Koa turns a null body into 204; the status below wins
    this.ctx.status = status;
  }
}

const JSON_TYPE = "application/json; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";
const HTML_TYPE = "text/html; charset=utf-8";

/**
 * A Handler subclass. `static csrf = false` turns CSRF protection off for its routes (an API authenticated
 * by other means than the session cookie).
 */
export type HandlerClass = (new (ctx: Context) => Handler) & { csrf?: boolean };

/** A URL scheme as the WHATWG parser reads one: a letter, then letters, digits, "+", "-" or ".", then ":". */
const SCHEME = /^[a-z][a-z\d+.-]*:/i;
/** Stands in for the request's origin when its Host cannot be parsed, so relative targets still resolve. */
const PLACEHOLDER_ORIGIN = "http://stoat.invalid";

/**
 * Why `target` may not be redirected to from `origin` (the request's own), or undefined when it may. The
 * target is judged as a browser parses it (WHATWG URL), not as a string: leading spaces are dropped, a
 * backslash is read as a slash, the scheme's case is ignored, and `http:evil.example` names a host
 * whenever the page's scheme is not http (behind a TLS proxy the request's own may not say), so a target
 * with a scheme is parsed without a base.
 */
function redirectRefusal(target: string, origin: string, allowOtherHost: boolean): string | undefined {
  if (hasControl(target)) return "the redirect target contains a control character (CR, LF, tab)";
  if (allowOtherHost) return undefined;
  if (target.includes("\\")) {
    return "the redirect target contains a backslash, which browsers read as a slash (encode it as %5C)";
  }
  const trimmed = target.replace(/^ +/, ""); // trailing spaces cannot change the origin
  if (trimmed.startsWith("//")) return `the redirect target starts with "//", so it names a host${HINT}`;
  const base = parsed(origin) ?? new URL(PLACEHOLDER_ORIGIN);
  const url = SCHEME.test(trimmed) ? parsed(trimmed) : parsed(trimmed, base);
  if (url === undefined) return "the redirect target is not a valid URL";
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `the redirect target's scheme is not http or https${HINT}`;
  }
  if (url.origin !== base.origin) return `the redirect target names another host${HINT}`;
  return undefined;
}

const HINT = "; pass { allowOtherHost: true } to redirect() if that is intended";

/** C0 controls and DEL: CR/LF would split the header, and browsers drop tabs and newlines inside a URL. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function parsed(url: string, base?: URL): URL | undefined {
  try {
    return new URL(url, base);
  } catch {
    return undefined;
  }
}
