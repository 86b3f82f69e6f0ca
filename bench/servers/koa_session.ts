// koa-session: signed cookie sessions (BENCH_STORE=cookie) or an external store on node-redis
// (BENCH_STORE=redis: one JSON value per session, expiring with the session's maxAge).

import Koa from "koa";
import session from "koa-session";
import { type Redis, redisClient } from "./redis_client.js";
import { body, hotRead, hotWrite, MODE, next, PREFIX, SECRET, STORE, serve, TTL_SECONDS } from "./serve.js";

function redisStore(redis: Redis) {
  const key = (id: string) => `${PREFIX}:koa:${id}`;
  return {
    async get(id: string) {
      const value = await redis.get(key(id));
      return value === null ? undefined : JSON.parse(value);
    },
    async set(id: string, sess: unknown, maxAge: number) {
      await redis.set(key(id), JSON.stringify(sess), { PX: maxAge });
    },
    async destroy(id: string) {
      await redis.del(key(id));
    },
  };
}

const redis = STORE === "redis" ? await redisClient() : undefined;
const app = new Koa();
app.keys = [SECRET];
app.use(
  session(
    {
      maxAge: TTL_SECONDS * 1000,
      httpOnly: true,
      sameSite: "lax",
      ...(redis ? { store: redisStore(redis) } : {}),
    },
    app,
  ),
);
app.use((ctx) => {
  ctx.type = "application/json";
  // Stoat's type for ctx.session is in scope here; koa-session's is a plain object.
  const sess = ctx.session as unknown as Record<string, unknown>;
  if (ctx.path === "/seed") {
    sess.n = "0";
    ctx.body = body("0");
    return;
  }
  if (ctx.path === "/read") {
    ctx.body = hotRead(Object.entries(sess));
    return;
  }
  if (MODE === "hot") {
    const n = hotWrite(
      ctx.query,
      (key) => sess[key],
      (key, value) => {
        sess[key] = value;
      },
    );
    ctx.body = body(n);
    return;
  }
  const n = next(sess.n);
  if (MODE === "rw") sess.n = n;
  ctx.body = body(n);
});
await serve(app.callback(), async () => redis?.close());
