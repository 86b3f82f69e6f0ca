// Bare Fastify: the same JSON answer as every other scenario, no session; the baseline @fastify/secure-session
// is measured against (as bare Koa is for the Koa peers and Stoat).

import Fastify from "fastify";
import { body, serve } from "./serve.js";

const app = Fastify({ logger: false });
app.get("/", (_request, reply) => {
  reply.type("application/json").send(body("0"));
});
await app.ready();
// Fastify's own router behind the same node:http server every bench server listens on (serve.ts).
await serve(
  (req, res) => app.routing(req, res),
  () => app.close(),
);
