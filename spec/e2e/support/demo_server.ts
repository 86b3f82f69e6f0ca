import { Application } from "stoat";
import routes from "../../../config/routes.js";
import { SECRET } from "../../support/app.js";
import { serviceUrl } from "../../support/services.js";

// The demo app (config/routes.ts) as config/application.ts builds it, but on a store the spec chooses and
// with a fixed secret, served in-process on 127.0.0.1 for a real browser.

export type DemoStore = "cookie" | "redis";

export interface DemoServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  close(): Promise<void>;
}

/** One namespace per run, so two runs (or a stale one) never read each other's sessions. */
const namespace = `stoat:e2e-${process.pid}-${Date.now().toString(36)}`;

export async function startDemo(store: DemoStore): Promise<DemoServer> {
  const app = Application.configure((config) => {
    config.routes = routes;
    config.session.store = store;
    config.session.options = {
      key: "_stoat_demo_session",
      secret: SECRET,
      expireAfter: 3600, // an hour, so a run's records leave Redis on their own
      ...(store === "redis" ? { url: serviceUrl("redis"), namespace } : {}),
    };
  });
  await app.listen(0, "127.0.0.1"); // port 0: the kernel picks a free one, no race with freePort()
  return { url: `http://127.0.0.1:${app.port}`, close: () => app.close() };
}
