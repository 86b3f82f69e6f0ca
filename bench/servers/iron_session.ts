// iron-session in Koa: the sealed-cookie peer of Stoat's cookie store (same Fe26.2 format).

import { getIronSession } from "iron-session";
import Koa from "koa";
import { body, MODE, next, SECRET, serve, TTL_SECONDS } from "./serve.js";

const app = new Koa();
app.use(async (ctx) => {
  ctx.type = "application/json";
  const sess = await getIronSession<{ n?: string }>(ctx.req, ctx.res, {
    password: SECRET,
    cookieName: "iron",
    ttl: TTL_SECONDS,
  });
  const n = ctx.path === "/seed" ? "0" : next(sess.n);
  if (ctx.path === "/seed" || MODE === "rw") {
    sess.n = n;
    await sess.save();
  }
  ctx.body = body(n);
});
await serve(app.callback());
