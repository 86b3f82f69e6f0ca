import type { Middleware } from "koa";
import type { SessionOptions } from "../session/options.js";
import type { StoreName } from "../session/stores/registry.js";
import type { SessionStore } from "../session/stores/store.js";
import type { RoutesDefinition } from "./routes.js";
import { defaultSecurityHeaders, type SecurityHeaders } from "./security_headers.js";

/** A built-in middleware by name, or any Koa middleware, in the order it runs. */
export type MiddlewareEntry = "bodyParser" | "session" | "csrf" | "flash" | Middleware;

/** What `Application.configure((config) => ...)` fills in (docs/configuration.md). */
export interface Config {
  routes: RoutesDefinition | undefined;
  session: {
    /** A registered store name (default "cookie"; the shipped ones complete in an editor) or a store instance. */
    store: StoreName | SessionStore;
    options: SessionOptions;
    /**
     * The store the app ran on before (a name or an instance), while moving to `store` without signing
     * anyone out: a session `store` does not know is read from here, saved to `store` and removed here
     * (docs/moving-stores.md). Keep it until the longest session made before the switch has expired.
     */
    previousStore?: string | SessionStore;
    /**
     * The previous store's options, checked against its own rules as `options` is against the store's;
     * the common ones (key, domain, path, expiry, secret, oldSecret) default to `options`' values.
     */
    previousOptions?: SessionOptions;
  };
  /**
   * Default `["bodyParser", "session", "csrf", "flash"]`; leave out "session" (with "csrf" and "flash") to
   * run without sessions, or "csrf" to turn off CSRF protection everywhere.
   */
  middleware: MiddlewareEntry[];
  /**
   * Headers every response carries (docs/security.md): nosniff, SAMEORIGIN framing and a strict referrer
   * policy by default; set one to another value, to `false` to leave it out, or add your own.
   */
  securityHeaders: SecurityHeaders;
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
    middleware: ["bodyParser", "session", "csrf", "flash"],
    securityHeaders: defaultSecurityHeaders(),
    proxy: false,
    root: process.cwd(),
    env: process.env.NODE_ENV || "development",
    clock: Date.now,
  };
}
