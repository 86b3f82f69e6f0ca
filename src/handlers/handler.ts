import type { Context, Request } from "koa";
import type { Session } from "../session/session.js";
import type { Flash } from "./flash.js";

export interface RespondOptions {
  status?: number;
  contentType?: string;
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

  /** Redirects to `url` (302 Found unless `status` says otherwise, e.g. 303 after a POST). */
  redirect(url: string, options: { status?: number } = {}): void {
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

export type HandlerClass = new (ctx: Context) => Handler;
