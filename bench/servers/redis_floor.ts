// The contract floor for a Redis session store: bare Koa doing, by hand and with nothing else, the work
// the session contract requires of every read+write request (bench/NOTES.md, sixth pass):
// - hash: the key is the SHA-256 of the cookie's id (the store never holds the id);
// - gcm: the value is AES-256-GCM encrypted JSON (encryption at rest), opened on read; a value this process
//   wrote is remembered, as Stoat's RecordSealer does, so the open is skipped for it;
// - cas: the write is a compare-and-set Lua script on the exact value read (a request in flight cannot
//   bring back a session flushed or cycled meanwhile, and concurrent writes are not silently lost);
// - cookie: the rolling expiry resends the cookie (Rack does the same with expire_after).
// Left out, so that the floor errs low (cheaper than the contract, never dearer): validating the id,
// the expiry inside the record, Vary and Cache-Control on a response that sets the cookie, retries
// after a failed compare-and-set (a 409 here), the flash.
// BENCH_FLOOR_SKIP (those names, split by commas, spaces or +) leaves parts out, to price each one; the bench
// runs all.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import Koa from "koa";
import { randomBytesPooled } from "../lib/random_pool.js";
import { redisClient } from "./redis_client.js";
import { body, next, PREFIX, SECRET, serve, TTL_SECONDS } from "./serve.js";

export const FLOOR_PARTS = ["hash", "gcm", "cas", "cookie"] as const;
const skip = new Set((process.env.BENCH_FLOOR_SKIP ?? "").split(/[\s,+]/).filter(Boolean));
for (const part of skip)
  if (!(FLOOR_PARTS as readonly string[]).includes(part))
    throw new Error(`BENCH_FLOOR_SKIP: unknown part ${part}; known: ${FLOOR_PARTS.join(", ")}`);
const use = (part: (typeof FLOOR_PARTS)[number]) => !skip.has(part);

// The same script as Stoat's redis adapter: compare the whole stored string, then SET with PX.
const CAS_SCRIPT =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";
const TTL_MS = TTL_SECONDS * 1000;
const aesKey = createHash("sha256").update(`floor:${SECRET}`).digest();

const redis = await redisClient();
const casSha = await redis.scriptLoad(CAS_SCRIPT);
const key = (id: string) =>
  `${PREFIX}:bare-floor:${use("hash") ? createHash("sha256").update(id).digest("hex") : id}`;

/** The last value this process wrote per key, with its data: a write's own value is not decrypted again. */
const written = new Map<string, { value: string; n: string }>();

function seal(n: string): string {
  const json = JSON.stringify({ n });
  if (!use("gcm")) return json;
  // IVs from Stoat's CSPRNG pool (a copy: lib/random_pool.ts), as its at-rest cipher takes them:
  // randomBytes(12) per write is a CSPRNG call (and a getpid) each, ~3 us here, which would lift the floor.
  const iv = randomBytesPooled(12);
  const cipher = createCipheriv("aes-256-gcm", aesKey, iv);
  const sealed = Buffer.concat([iv, cipher.update(json, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return sealed.toString("base64url");
}

function open(k: string, value: string | null): string | undefined {
  if (value === null) return undefined;
  const mine = written.get(k);
  if (mine?.value === value) return mine.n;
  let json = value;
  if (use("gcm")) {
    const bytes = Buffer.from(value, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", aesKey, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    json = decipher.update(bytes.subarray(12, bytes.length - 16), undefined, "utf8") + decipher.final("utf8");
  }
  return (JSON.parse(json) as { n: string }).n;
}

async function write(k: string, read: string | null, n: string): Promise<boolean> {
  const value = seal(n);
  if (!use("cas")) {
    await redis.set(k, value, { PX: TTL_MS });
  } else {
    const done = await redis.evalSha(casSha, { keys: [k], arguments: [read ?? "", value, String(TTL_MS)] });
    if (done !== 1) return false;
  }
  if (written.size >= 4096) written.clear();
  written.set(k, { value, n });
  return true;
}

const sidCookie = (id: string) =>
  `sid=${id}; path=/; expires=${new Date(Date.now() + TTL_MS).toUTCString()}; samesite=lax; httponly`;

const app = new Koa();
app.use(async (ctx) => {
  ctx.type = "application/json";
  if (ctx.path === "/seed") {
    const id = randomBytes(32).toString("base64url");
    await redis.set(key(id), seal("0"), { PX: TTL_MS });
    ctx.set("Set-Cookie", sidCookie(id));
    ctx.body = body("0");
    return;
  }
  const id = ctx.cookies.get("sid") ?? "none";
  const k = key(id);
  const read = await redis.get(k);
  const n = next(open(k, read));
  // A failed compare-and-set (the session changed or went meanwhile) answers 409, as Stoat does after its
  // retries; with one session per connection it does not happen in the bench.
  if (!(await write(k, read, n))) ctx.throw(409);
  if (use("cookie")) ctx.set("Set-Cookie", sidCookie(id));
  ctx.body = body(n);
});
await serve(app.callback(), () => redis.close());
