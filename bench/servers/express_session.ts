// express-session + connect-redis on node-redis, as their READMEs set them up (resave and
// saveUninitialized off). ETag and X-Powered-By are off so the answer is the size Koa's is.

import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { redisClient } from "./redis_client.js";
import { body, MODE, next, PREFIX, SECRET, serve, TTL_SECONDS } from "./serve.js";

declare module "express-session" {
  interface SessionData {
    n: string;
  }
}

const redis = await redisClient();
const app = express();
app.set("etag", false);
app.disable("x-powered-by");
app.use(
  session({
    store: new RedisStore({ client: redis, prefix: `${PREFIX}:express:`, ttl: TTL_SECONDS }),
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: TTL_SECONDS * 1000, httpOnly: true, sameSite: "lax", secure: false },
  }),
);
app.get("/seed", (req, res) => {
  req.session.n = "0";
  res.type("application/json").send(body("0"));
});
app.get("/", (req, res) => {
  const n = next(req.session.n);
  if (MODE === "rw") req.session.n = n;
  res.type("application/json").send(body(n));
});
await serve(app, () => redis.close());
