// Bare Koa + Redis, no session library: the floor a Redis session store can reach. rw: GET + SET of the
// key named by the `sid` cookie; ro: GET only. The Redis scenarios' second ratio column divides by these.

import { randomBytes } from "node:crypto";
import Koa from "koa";
import { redisClient } from "./redis_client.js";
import { body, MODE, next, PREFIX, serve, TTL_SECONDS } from "./serve.js";

const redis = await redisClient();
const key = (id: string) => `${PREFIX}:bare:${id}`;

const app = new Koa();
app.use(async (ctx) => {
  ctx.type = "application/json";
  if (ctx.path === "/seed") {
    const id = randomBytes(32).toString("base64url");
    await redis.set(key(id), "0", { EX: TTL_SECONDS });
    ctx.cookies.set("sid", id, { httpOnly: true, sameSite: "lax", maxAge: TTL_SECONDS * 1000 });
    ctx.body = body("0");
    return;
  }
  const id = ctx.cookies.get("sid") ?? "none";
  const n = next(await redis.get(key(id)));
  if (MODE === "rw") await redis.set(key(id), n, { EX: TTL_SECONDS });
  ctx.body = body(n);
});
await serve(app.callback(), () => redis.close());
