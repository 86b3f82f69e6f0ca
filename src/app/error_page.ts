import { STATUS_CODES } from "node:http";
import type { Context } from "koa";
import { escapeHtml } from "../handlers/escape_html.js";

// What a developer sees when a handler throws in development: the error itself, not a bare
// "Internal Server Error". Never used in production, where a stack would tell an attacker too much.

/** The status Koa would answer for `err`: its own 4xx/5xx status, else 500. */
export function statusOf(err: unknown): number {
  const e = err as { status?: unknown; statusCode?: unknown } | null;
  const status = e?.status ?? e?.statusCode;
  return typeof status === "number" && status >= 400 && status <= 599 ? status : 500;
}

/**
 * Answers describing `err` (name, message, stack): JSON for a client that prefers it, else HTML. The caller
 * has reset the response to its status.
 */
export function writeErrorPage(ctx: Context, err: unknown, status: number): void {
  const error =
    err instanceof Error
      ? { name: err.name, message: err.message, stack: err.stack ?? "" }
      : { name: "Error", message: String(err), stack: "" };
  const json = ctx.accepts("html", "json") === "json";
  const body = json ? `${JSON.stringify({ error })}\n` : html(error, status, `${ctx.method} ${ctx.path}`);
  const res = ctx.res;
  res.setHeader("Content-Type", json ? "application/json; charset=utf-8" : "text/html; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.setHeader("Cache-Control", "no-store");
  res.end(ctx.method === "HEAD" ? undefined : body);
}

function html(
  error: { name: string; message: string; stack: string },
  status: number,
  request: string,
): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(error.name)}: ${escapeHtml(error.message)}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; color: #b00020; margin: 0 0 .25rem; }
pre { background: #f6f6f6; padding: 1rem; overflow-x: auto; font-size: 13px; }
.note { color: #666; }
</style>
</head>
<body>
<h1 id="error-name">${escapeHtml(error.name)}</h1>
<p id="error-message">${escapeHtml(error.message)}</p>
<p class="note">${status} ${STATUS_CODES[status] ?? "Error"} while handling ${escapeHtml(request)}</p>
<pre id="error-stack">${escapeHtml(error.stack)}</pre>
<p class="note">Shown because the app runs in development (NODE_ENV is not "production"); in production the body is only the status text.</p>
</body>
</html>
`;
}
