import { STATUS_CODES } from "node:http";
import { bodyParser } from "@koa/bodyparser";
import type { Context, Middleware } from "koa";
import { InvalidRequestBodyError } from "../session/errors.js";

// @koa/bodyparser, with every body it cannot decode answered as the client's error. Left to itself, bad
// gzip, deflate or brotli data reaches Koa as a zlib error with no status (a 500), and a JSON or form
// body in another charset is read as UTF-8 anyway.

/** The methods @koa/bodyparser parses by default (its `parsedMethods`). */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
/** Methods whose content has no meaning (RFC 9110): a body there is refused, never silently ignored. */
const NO_BODY_METHODS = new Set(["GET", "HEAD"]);
/** The parsed types (JSON, forms) are UTF-8 by their specs; us-ascii is a subset. */
const CHARSETS = new Set(["utf-8", "utf8", "us-ascii"]);

export function bodyParserMiddleware(): Middleware {
  const parse = bodyParser({ parsedMethods: [...BODY_METHODS] });
  return function bodyParser(ctx, next) {
    // Any other method only checks and calls next: no async layer of the parser's own on every GET.
    if (!BODY_METHODS.has(ctx.method)) {
      if (NO_BODY_METHODS.has(ctx.method) && hasBody(ctx)) {
        throw new InvalidRequestBodyError(`Bad Request: a ${ctx.method} request takes no body`);
      }
      return next();
    }
    const charset = ctx.request.charset.toLowerCase();
    if (charset !== "" && !CHARSETS.has(charset) && ctx.is("json", "urlencoded") !== false) {
      throw new InvalidRequestBodyError(`Unsupported Media Type: the body must be UTF-8, not ${charset}`, {
        status: 415,
      });
    }
    let reached: Promise<void> | undefined;
    return parse(ctx, () => {
      reached = next();
      return reached;
    }).catch((err: unknown) => {
      if (reached !== undefined) throw err; // downstream's error, not the body's
      throw decodingError(err);
    });
  };
}

/** A Content-Length above zero, or any chunked body. */
function hasBody(ctx: Context): boolean {
  const length = ctx.get("Content-Length");
  return (length !== "" && length !== "0") || ctx.get("Transfer-Encoding") !== "";
}

/** The parser's own 4xx (bad JSON 400, too large 413, unknown encoding 415) keeps its status; anything else is a 400. */
function decodingError(err: unknown): InvalidRequestBodyError {
  const { status, message } = (err ?? {}) as { status?: unknown; message?: unknown };
  if (typeof status === "number" && status >= 400 && status < 500 && typeof message === "string") {
    return new InvalidRequestBodyError(`${STATUS_CODES[status]}: ${message}`, { status, cause: err });
  }
  return new InvalidRequestBodyError("Bad Request: the request body could not be decoded", { cause: err });
}
