// Bare Koa: the same JSON answer as every other scenario, no session; the baseline of the ratio column.

import Koa from "koa";
import { body, serve } from "./serve.js";

const app = new Koa();
app.use((ctx) => {
  ctx.type = "application/json";
  ctx.body = body("0");
});
await serve(app.callback());
