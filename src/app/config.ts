import type { Middleware } from "koa";
import type { SessionOptions } from "../session/options.js";
import type { SessionStore } from "../session/stores/store.js";
import type { RoutesDefinition } from "./routes.js";

/** A built-in middleware by name, or any Koa middleware, in the order it runs. */
export type MiddlewareEntry = "bodyParser" | "session" | "flash" | Middleware;

/** What `Application.configure((config) => ...)` fills in (docs/configuration.md). */
export interface Config {
  routes: RoutesDefinition | undefined;
  session: {
    /** A registered store name (default "cookie") or a store instance. */
    store: string | SessionStore;
    options: SessionOptions;
  };
  /** Default `["bodyParser", "session", "flash"]`; leave out "session" to run without sessions. */
  middleware: MiddlewareEntry[];
  /** Trust X-Forwarded-Proto/-For (Koa's `app.proxy`): set it behind a TLS-terminating proxy. */
  proxy: boolean;
  /** The project directory, where `.env` and `tmp/` live; default the current directory. */
  root: string;
  /** Koa's environment; default NODE_ENV, else "development". "production" turns Secure cookies on. */
  env: string;
  /** The time source (ms since the epoch); specs inject one to test expiry without sleeping. */
  clock: () => number;
}

export function defaultConfig(): Config {
  return {
    routes: undefined,
    session: { store: "cookie", options: {} },
    middleware: ["bodyParser", "session", "flash"],
    proxy: false,
    root: process.cwd(),
    env: process.env.NODE_ENV || "development",
    clock: Date.now,
  };
}
