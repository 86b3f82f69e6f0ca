// Bare Koa + one SELECT, no session library: the floor a database session store's read-only request can
// reach, as bare_redis.ts's GET is for Redis. The row is found by the cookie's id as it is (no hash) and its
// data answered as it is (no decryption). BENCH_STORE: postgres or sqlite; BENCH_MODE: ro.

import { randomBytes } from "node:crypto";
import Koa from "koa";
import { body, PREFIX, STORE, serve, TTL_SECONDS, tableFor } from "./serve.js";
import { sqlKind, sqlSessions } from "./sql_client.js";

const sessions = await sqlSessions(sqlKind(STORE), tableFor(PREFIX, "bare"));

const app = new Koa();
app.use(async (ctx) => {
  ctx.type = "application/json";
  if (ctx.path === "/seed") {
    const id = randomBytes(32).toString("base64url");
    const now = new Date();
    await sessions.insert(id, "0", now, new Date(now.getTime() + TTL_SECONDS * 1000));
    ctx.cookies.set("sid", id, { httpOnly: true, sameSite: "lax", maxAge: TTL_SECONDS * 1000 });
    ctx.body = body("0");
    return;
  }
  ctx.body = body((await sessions.select(ctx.cookies.get("sid") ?? "none")) ?? "0");
});
await serve(app.callback(), () => sessions.close());
