import { type ServerResponse, STATUS_CODES } from "node:http";
import type Koa from "koa";
import { SessionStoreUnavailableError } from "../session/errors.js";
import { statusOf, writeErrorPage } from "./error_page.js";
import { setSecurityHeaders } from "./security_headers.js";

// How an error that escapes a request is answered, on Koa's own error path (`ctx.onerror`, where every
// rejection of a request ends up) rather than a middleware: a layer around every request would cost each
// one a promise for an error that is rare.
//   - a store that cannot be reached: 503 with Retry-After (the client may try again, nothing is lost);
//   - in development, any other 5xx: a page with the error and its stack;
//   - anything else: Koa's own answer (its status and, when exposed, its message).
// Every one keeps the security headers, which an error answer would otherwise drop with the rest.

export function answerErrors(
  koa: Koa,
  options: { development: boolean; headers: readonly (readonly [string, string])[] },
): void {
  const onerror = koa.context.onerror;
  koa.context.onerror = function answerError(this: Koa.Context, err: unknown) {
    if (err == null || this.headerSent || !this.writable) return onerror.call(this, err as Error);
    if (err instanceof SessionStoreUnavailableError) {
      this.app.emit("error", err, this); // loud: the app's error listeners hear of every outage
      reset(this.res, 503, options.headers);
      this.res.setHeader("Retry-After", String(err.retryAfter));
      this.res.setHeader("Content-Type", "text/plain; charset=utf-8");
      this.res.setHeader("Content-Length", Buffer.byteLength(STORE_DOWN_BODY));
      this.res.end(STORE_DOWN_BODY);
      return;
    }
    const status = statusOf(err);
    if (options.development && status >= 500) {
      this.app.emit("error", err, this); // still logged, as Koa logs every 5xx
      reset(this.res, status, options.headers);
      writeErrorPage(this, err, status);
      return;
    }
    if (typeof err === "object") {
      // Koa removes every header, then sets the error's own `headers`: the security headers go in there.
      const own = (err as { headers?: Record<string, string> }).headers;
      (err as { headers?: Record<string, string> }).headers = {
        ...Object.fromEntries(options.headers),
        ...own,
      };
    }
    return onerror.call(this, err as Error);
  };
}

/**
 * Drops whatever the handler set (a Location, a cookie: they describe a success that did not happen) and
 * sets `status` with its own reason phrase, not one the handler's status left behind ("503 See Other").
 */
function reset(res: ServerResponse, status: number, headers: readonly (readonly [string, string])[]): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = status;
  res.statusMessage = STATUS_CODES[status] ?? "";
  setSecurityHeaders(res, headers);
}

const STORE_DOWN_BODY = "Service Unavailable: the session store cannot be reached, try again shortly\n";
