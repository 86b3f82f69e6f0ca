// One app process of the scale-out spec (spec/scale_out/two_processes.spec.ts): SCALE_STORE and SCALE_OPTIONS
// (JSON session options) pick the store. It follows the protocol of spec/support/process.ts: listens on a
// free port of 127.0.0.1 and prints `LISTENING <port>`; on SIGTERM it closes the server and the store's
// connections and then ends by itself, so exit code 0 means nothing was left open. It has a sign-in
// (cycleKey) and a sign-out (flush), which the bench's fault server has not.

import { Application, Handler, type RoutesDefinition } from "stoat";

/** JSON answers, so the spec can assert exact values; a test client with no pages, so no CSRF token. */
class Account extends Handler {
  static csrf = false;
  /** Increments `n` and answers the new value with the signed-in name (null when none). */
  async count() {
    const n = Number(this.session.get("n") ?? 0) + 1;
    this.session.set("n", String(n));
    this.json({ n, name: this.session.get("name") ?? null });
  }
  async read() {
    this.json(this.session.toJSON());
  }
  /** Sets one key of the spec's choosing (the concurrent variant: each request its own key). */
  async put() {
    this.session.set(this.params.k ?? "k", this.params.v ?? "1");
    this.json({ ok: true });
  }
  async signIn() {
    this.session.cycleKey(); // a new id on sign-in, as an app should (fixation)
    this.session.set("name", this.params.name ?? "");
    this.json({ ok: true });
  }
  async signOut() {
    this.session.flush();
    this.json({ ok: true });
  }
}

const routes: RoutesDefinition = (r) => {
  for (const action of ["count", "read", "put"]) r.get(`/${action}`, Account, action);
  r.post("/sign_in", Account, "signIn");
  r.post("/sign_out", Account, "signOut");
};

const app = Application.configure((config) => {
  config.routes = routes;
  config.session.store = process.env.SCALE_STORE as never;
  config.session.options = JSON.parse(process.env.SCALE_OPTIONS ?? "{}");
});
await app.listen(0, "127.0.0.1");
console.log(`LISTENING ${app.port}`);

process.once("SIGTERM", () => {
  // No process.exit() on success: a connection or timer left open keeps the process alive, and the spec's
  // stop() then reports it (it kills after a bound and answers no exit code).
  app.close().catch((error: unknown) => {
    console.error(`close failed: ${String(error)}`);
    process.exitCode = 4;
  });
});
