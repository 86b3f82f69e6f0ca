// One app process for the fault runs: `FAULT_STORE` and `FAULT_OPTIONS` (JSON session options) pick the
// store, it listens on 127.0.0.1:`FAULT_PORT` (0: a free one) and prints `LISTENING <port>`. On SIGTERM it
// closes (servers, then the store's connections), prints `CLOSED <json>` with the errors the app emitted and
// then exits by itself, with nothing left open. Anything still holding the process 10 s later (a leaked
// connection, a timer) makes it exit 3, so a leak shows as a failure, not a stuck run.

import { Application, Handler, type RoutesDefinition } from "stoat";

class Fault extends Handler {
  /** Sets `k` = `v` in the session (creating it when there is none); `pad=N` adds N bytes under "pad". */
  async write() {
    this.session.set(this.params.k ?? "k", this.params.v ?? "1");
    const pad = Number(this.params.pad ?? 0);
    if (pad > 0) this.session.set("pad", "x".repeat(Math.min(pad, 100_000)));
    this.json({ ok: true });
  }
  async read() {
    this.json(this.session.toJSON());
  }
  /** Increments `n` and answers the value it had, so a client sees at once when its session was lost. */
  async bump() {
    const previous = Number(this.session.get("n") ?? 0);
    this.session.set("n", String(previous + 1));
    this.json({ previous });
  }
}

const routes: RoutesDefinition = (r) => {
  for (const action of ["write", "read", "bump"]) r.get(`/${action}`, Fault, action);
};

const store = process.env.FAULT_STORE ?? "cookie";
const options = JSON.parse(process.env.FAULT_OPTIONS ?? "{}") as Record<string, unknown>;
const app = Application.configure((config) => {
  config.routes = routes;
  config.session.store = store as never;
  config.session.options = options as never;
});
const errors: Record<string, number> = {};
app.koa.on("error", (err: { code?: string }) => {
  const code = err.code ?? "other";
  errors[code] = (errors[code] ?? 0) + 1;
});

if (store === "database") await app.sessions.install();
await app.listen(Number(process.env.FAULT_PORT ?? 0), "127.0.0.1");
console.log(`LISTENING ${app.port}`);

let closing = false;
process.on("SIGTERM", () => {
  if (closing) return;
  closing = true;
  setTimeout(() => {
    console.log(`HUNG ${JSON.stringify({ errors })}`);
    process.exit(3);
  }, 10_000).unref();
  app.close().then(
    () => {
      console.log(`CLOSED ${JSON.stringify({ errors })}`); // no exit(): an empty event loop ends it
    },
    (err: unknown) => {
      console.log(`CLOSE-FAILED ${String(err)}`);
      process.exit(4);
    },
  );
});
