// Fastify + @fastify/secure-session: the sealed-cookie peer on another framework (libsodium's secretbox),
// configured as its README says, with a pregenerated 32-byte key of its own (derived here from the run's
// secret, as a key file would hold one). Its cost is read against bare Fastify (bare_fastify.ts).

import { createHash } from "node:crypto";
import secureSession from "@fastify/secure-session";
import Fastify from "fastify";
import { body, MODE, next, SECRET, serve, TTL_SECONDS } from "./serve.js";

declare module "@fastify/secure-session" {
  interface SessionData {
    n: string;
  }
}

const app = Fastify({ logger: false });
await app.register(secureSession, {
  key: createHash("sha256").update(`fastify-secure-session:${SECRET}`).digest(),
  expiry: TTL_SECONDS,
  cookie: { path: "/", httpOnly: true, sameSite: "lax", maxAge: TTL_SECONDS },
});
app.get("/seed", (request, reply) => {
  request.session.set("n", "0");
  reply.type("application/json").send(body("0"));
});
app.get("/", (request, reply) => {
  const n = next(request.session.get("n"));
  if (MODE === "rw") request.session.set("n", n);
  reply.type("application/json").send(body(n));
});
await app.ready();
await serve(
  (req, res) => app.routing(req, res),
  () => app.close(),
);
