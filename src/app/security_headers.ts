import type { ServerResponse } from "node:http";
import type { Middleware } from "koa";
import { ConfigError } from "../session/errors.js";

/** Header name -> value; `false` removes a default. */
export type SecurityHeaders = Record<string, string | false>;

/**
 * What every response carries unless `config.securityHeaders` says otherwise (Rails and Django send the
 * same): no MIME sniffing of responses, no framing by other sites (clickjacking), and only the origin in
 * the Referer sent to other sites.
 */
export function defaultSecurityHeaders(): SecurityHeaders {
  return {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "strict-origin-when-cross-origin",
  };
}

/** RFC 9110 token characters: what a header name may hold. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The headers to send, checked at boot: names must be tokens, values strings without control characters. */
export function securityHeaderList(headers: unknown): readonly (readonly [string, string])[] {
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw new ConfigError("config.securityHeaders must be an object of header name -> value (or false)");
  }
  const list: [string, string][] = [];
  for (const name of Object.keys(headers)) {
    const value = (headers as Record<string, unknown>)[name];
    if (!TOKEN.test(name))
      throw new ConfigError(`config.securityHeaders: ${JSON.stringify(name)} is no header name`);
    if (value === false) continue;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    if (typeof value !== "string" || /[\u0000-\u001f\u007f]/.test(value)) {
      throw new ConfigError(
        `config.securityHeaders["${name}"] must be a string without control characters, or false to remove it`,
      );
    }
    list.push([name, value]);
  }
  return list;
}

/** Sets `headers` on a response (again after an error answer has removed every header). */
export function setSecurityHeaders(
  res: ServerResponse,
  headers: readonly (readonly [string, string])[],
): void {
  for (const [name, value] of headers) res.setHeader(name, value);
}

/** Sets them before anything downstream runs, so a handler may still change one for its own response. */
export function securityHeadersMiddleware(headers: readonly (readonly [string, string])[]): Middleware {
  return function securityHeaders(ctx, next) {
    setSecurityHeaders(ctx.res, headers);
    return next();
  };
}
