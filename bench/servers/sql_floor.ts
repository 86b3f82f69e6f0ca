// The database floor: bare Koa doing by hand, with the raw driver (sql_client.ts) and no session library,
// the work Stoat's database store does on every read+write request, as redis_floor.ts does for Redis:
// - the row is found by the hashed id (`2::` + SHA-256 hex of the cookie's id, as Stoat keys it);
// - its data is AES-256-GCM encrypted JSON, opened on read (a value this process wrote is remembered, as
//   Stoat's RecordSealer does, so the open is skipped for it) and sealed afresh, with a new IV, on write;
// - the write is the guarded `UPDATE ... SET data, updated_at, expires_at WHERE session_id = ? AND data = ?`
//   on the exact data read (a 409 when another request wrote meanwhile, as Stoat after its retries);
// - the rolling expiry resends the cookie.
// Left out, so that the floor errs low: validating the id, the expiry inside the record, Vary and
// Cache-Control, retries after a missed guard, the flash, user_id. BENCH_STORE: postgres or sqlite.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import Koa from "koa";
import { randomBytesPooled } from "../lib/random_pool.js";
import { body, next, PREFIX, SECRET, STORE, serve, TTL_SECONDS, tableFor } from "./serve.js";
import { sqlKind, sqlSessions } from "./sql_client.js";

const TTL_MS = TTL_SECONDS * 1000;
const aesKey = createHash("sha256").update(`floor:${SECRET}`).digest();
const sessions = await sqlSessions(sqlKind(STORE), tableFor(PREFIX, "floor"));
const hashed = (id: string) => `2::${createHash("sha256").update(id).digest("hex")}`;

/** The last data this process wrote per row, with its counter: a write's own data is not decrypted again. */
const written = new Map<string, { data: string; n: string }>();

function seal(n: string): string {
  const iv = randomBytesPooled(12);
  const cipher = createCipheriv("aes-256-gcm", aesKey, iv);
  const json = JSON.stringify({ n });
  return Buffer.concat([iv, cipher.update(json, "utf8"), cipher.final(), cipher.getAuthTag()]).toString(
    "base64url",
  );
}

function open(sessionId: string, data: string | undefined): string | undefined {
  if (data === undefined) return undefined;
  const mine = written.get(sessionId);
  if (mine?.data === data) return mine.n;
  const bytes = Buffer.from(data, "base64url");
  const decipher = createDecipheriv("aes-256-gcm", aesKey, bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  const json =
    decipher.update(bytes.subarray(12, bytes.length - 16), undefined, "utf8") + decipher.final("utf8");
  return (JSON.parse(json) as { n: string }).n;
}

const sidCookie = (id: string) =>
  `sid=${id}; path=/; expires=${new Date(Date.now() + TTL_MS).toUTCString()}; samesite=lax; httponly`;

const app = new Koa();
app.use(async (ctx) => {
  ctx.type = "application/json";
  const now = new Date();
  const expiresAt = new Date(now.getTime() + TTL_MS);
  if (ctx.path === "/seed") {
    const id = randomBytes(32).toString("base64url");
    await sessions.insert(hashed(id), seal("0"), now, expiresAt);
    ctx.set("Set-Cookie", sidCookie(id));
    ctx.body = body("0");
    return;
  }
  const id = ctx.cookies.get("sid") ?? "none";
  const sessionId = hashed(id);
  const read = await sessions.select(sessionId);
  const n = next(open(sessionId, read));
  const data = seal(n);
  if (read === undefined || !(await sessions.update(sessionId, read, data, now, expiresAt))) ctx.throw(409);
  if (written.size >= 4096) written.clear();
  written.set(sessionId, { data, n });
  ctx.set("Set-Cookie", sidCookie(id));
  ctx.body = body(n);
});
await serve(app.callback(), () => sessions.close());
