import { once } from "node:events";
import type { RequestListener, Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Middleware } from "koa";
import Koa from "koa";
import { defineFlashAccessor, flashMiddleware } from "../handlers/flash.js";
import { csrfMiddleware, defineCsrfAccessor } from "../session/csrf.js";
import { ConfigError } from "../session/errors.js";
import { defineSessionAccessor, type PreviousStoreSetup, sessionMiddleware } from "../session/middleware.js";
import {
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionOptions,
  sessionOptionRules,
} from "../session/options.js";
import { isSessionStore, storeFactory } from "../session/stores/registry.js";
import type { SessionsAdmin } from "../session/stores/sessions_admin.js";
import type { SessionStore } from "../session/stores/store.js";
import { rules, validate } from "../session/validation.js";
import { bodyParserMiddleware } from "./body_parser.js";
import { type Config, defaultConfig, type MiddlewareEntry } from "./config.js";
import { answerErrors } from "./error_answers.js";
import { checkMiddleware } from "./middleware_list.js";
import { type RouteInfo, Routes } from "./routes.js";
import { loadEnv, resolveSecrets } from "./secrets.js";
import { securityHeaderList, securityHeadersMiddleware } from "./security_headers.js";

const configRules = {
  routes: rules.function(),
  session: { check: (v: unknown) => (typeof v === "object" && v !== null ? undefined : "an object") },
  middleware: { check: (v: unknown) => (Array.isArray(v) ? undefined : "a list") },
  proxy: rules.boolean(),
  root: rules.string(),
  env: rules.string(),
  clock: rules.function(),
  securityHeaders: rules.any(), // checked whole by securityHeaderList
};

/**
 * A Stoat application: the Koa app built from `config/application.ts`. Everything is checked when it is
 * configured, so a bad option fails at boot with a ConfigError, not on some later request.
 */
export class Application {
  readonly config: Config;
  readonly koa: Koa;
  readonly routes: readonly RouteInfo[];
  /** The resolved session options, or undefined when the session middleware is left out. */
  readonly sessionOptions: ResolvedSessionOptions | undefined;
  readonly #store: SessionStore | Promise<SessionStore> | undefined;
  /** config.session.previousStore, opened, while the app moves between stores. */
  readonly #previous: PreviousStoreSetup | undefined;
  readonly #servers = new Set<Server>();

  static configure(configure: (config: Config) => void): Application {
    // .env first: the defaults read NODE_ENV, and `configure` reads process.env.
    loadEnv(process.cwd());
    const config = defaultConfig();
    configure(config);
    return new Application(config);
  }

  constructor(config: Config) {
    validate(config, configRules, "config");
    validate(config.session, sessionRules, "config.session");
    this.config = config;
    const names = checkMiddleware(config.middleware);
    const headers = securityHeaderList(config.securityHeaders);

    this.koa = new Koa({ proxy: config.proxy, env: config.env });
    defineSessionAccessor(this.koa);
    defineFlashAccessor(this.koa.context);
    defineCsrfAccessor(this.koa);
    answerErrors(this.koa, { development: config.env !== "production", headers });

    if (names.includes("session")) {
      const { store, options, previousStore, previousOptions } = config.session;
      const current = openStore(config, store, options, "store", "options");
      this.sessionOptions = current.options;
      this.#store = current.store;
      if (previousStore !== undefined) {
        // The common options default to the current ones: set only what differed (often nothing).
        const common = Object.keys(sessionOptionRules).filter((k) => k in options);
        const inherited = Object.fromEntries(common.map((k) => [k, (options as Record<string, unknown>)[k]]));
        this.#previous = openStore(
          config,
          previousStore,
          { ...inherited, ...previousOptions },
          "previousStore",
          "previousOptions",
        );
      } else if (previousOptions !== undefined) {
        throw new ConfigError("config.session.previousOptions needs config.session.previousStore");
      }
    }
    const routes = new Routes();
    config.routes?.(routes);
    this.routes = routes.list;
    if (headers.length > 0) this.koa.use(securityHeadersMiddleware(headers));
    for (const entry of config.middleware) this.koa.use(this.#middleware(entry, routes));
    this.koa.use(routes.middleware());
  }

  /** Ready when the session store is (server-side stores connect lazily); rejects with its ConfigError. */
  async ready(): Promise<void> {
    await Promise.all([this.#store, this.#previous?.store]);
  }

  /**
   * Listing and revoking sessions, expiring and installing the table: the `database` store only
   * (`await app.sessions.revokeAllForUser(userId, { except: this.session.id })`).
   */
  get sessions(): SessionsAdmin {
    const admin = async (): Promise<SessionsAdmin> => {
      const store = await this.#store;
      if (!store?.admin) {
        throw new ConfigError('app.sessions needs config.session.store = "database" (a table it can query)');
      }
      return store.admin;
    };
    return {
      install: async () => (await admin()).install(),
      expire: async (options) => (await admin()).expire(options),
      listForUser: async (userId) => (await admin()).listForUser(userId),
      revokeAllForUser: async (userId, options) => (await admin()).revokeAllForUser(userId, options),
    };
  }

  /** A Node request listener, for `http.createServer(app.callback())` and supertest. */
  callback(): ReturnType<Koa["callback"]> {
    return this.koa.callback();
  }

  /**
   * Starts an HTTP server (port 0 picks a free one) and resolves once it listens. With `log`, every
   * request is reported when its response finishes: method, path, status and milliseconds.
   */
  async listen(port = 0, host?: string, options: { log?: (line: string) => void } = {}): Promise<Server> {
    await this.ready();
    const server = createServer(
      {
        requestTimeout: REQUEST_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      },
      options.log ? logRequests(this.callback(), options.log) : this.callback(),
    );
    server.listen(port, host);
    await once(server, "listening");
    this.#servers.add(server);
    server.once("close", () => this.#servers.delete(server));
    return server;
  }

  /** The port of the first listening server. */
  get port(): number | undefined {
    for (const server of this.#servers) return (server.address() as AddressInfo).port;
    return undefined;
  }

  /** Stops every server this app started, letting requests in flight finish, then the store's connections. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#servers].map(
        (server) =>
          new Promise<void>((resolve, reject) => {
            // A keep-alive connection that finishes its request after close() would otherwise stay open
            // for the whole keep-alive timeout (65 s): close each as soon as it falls idle.
            const sweep = setInterval(() => server.closeIdleConnections(), CLOSE_SWEEP_MS);
            server.close((err) => {
              clearInterval(sweep);
              if (err) reject(err);
              else resolve();
            });
            server.closeIdleConnections();
          }),
      ),
    );
    for (const opening of [this.#store, this.#previous?.store]) {
      const store = await Promise.resolve(opening).catch(() => undefined);
      await store?.close?.();
    }
  }

  #middleware(entry: MiddlewareEntry, routes: Routes): Middleware {
    if (typeof entry === "function") return entry;
    if (entry === "bodyParser") return bodyParserMiddleware();
    if (entry === "flash") return flashMiddleware();
    if (entry === "csrf") {
      // Checked for the requests a handler answers, as Django checks views: one no route takes runs no action
      // (404 or 405), and a handler opts out with `static csrf = false`.
      return csrfMiddleware((ctx) => {
        const handler = routes.handlerFor(ctx.method, ctx.path);
        return handler !== undefined && handler.csrf !== false;
      });
    }
    return sessionMiddleware(
      this.#store!,
      this.sessionOptions!,
      this.config.clock,
      this.config.env === "production",
      this.#previous,
    );
  }
}

const sessionRules = {
  store: rules.any(),
  options: rules.any(),
  previousStore: rules.any(),
  previousOptions: configRules.session,
};

/**
 * Resolves a store from its name (or instance) and options, as `config.session[storeKey]` with
 * `config.session[optionsKey]`: options checked against the store's own rules, secrets resolved.
 */
function openStore(
  config: Config,
  store: string | SessionStore,
  options: SessionOptions,
  storeKey: string,
  optionsKey: string,
): PreviousStoreSetup & { options: ResolvedSessionOptions } {
  const factory = typeof store === "string" ? storeFactory(store) : undefined;
  if (factory === undefined && !isSessionStore(store)) {
    throw new ConfigError(
      `config.session.${storeKey} must be a store name or an object with load, save, touch and destroy`,
    );
  }
  const secrets = resolveSecrets(options, config.root, config.env === "production");
  const resolved = resolveSessionOptions(
    options,
    factory?.rules ?? {},
    secrets,
    `config.session.${optionsKey}`,
  );
  const storeOptions = Object.fromEntries(
    Object.keys(factory?.rules ?? {}).map((k) => [k, (options as Record<string, unknown>)[k]]),
  );
  const opened = factory
    ? factory.create(resolved, storeOptions, { clock: config.clock })
    : (store as SessionStore);
  // A store that fails to open (a missing adapter, say) rejects ready() and every request; until
  // someone awaits it, that rejection must not crash the process as unhandled.
  if (opened instanceof Promise) opened.catch(() => {});
  return { store: opened, options: resolved };
}

/** How often close() closes connections that have finished their last request. */
const CLOSE_SWEEP_MS = 25;

/** A whole request, body included, must arrive within a minute: a slow upload cannot hold a socket for Node's default 5. */
export const REQUEST_TIMEOUT_MS = 60_000;
/** Headers must arrive within 20 s, so a client trickling them (slowloris) is cut off early; Node's default is 60. */
export const HEADERS_TIMEOUT_MS = 20_000;
/**
 * An idle keep-alive connection stays open 65 s, longer than the 60 s idle timeout of common proxies and load
 * balancers, so a proxy never reuses a connection Node has just closed (a 502); Node's default is 5.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

function logRequests(listener: RequestListener, log: (line: string) => void): RequestListener {
  return (req, res) => {
    const start = performance.now();
    res.once("finish", () => {
      const path = (req.url ?? "/").split("?")[0];
      log(`${req.method} ${path} ${res.statusCode} ${(performance.now() - start).toFixed(1)}ms`);
    });
    return listener(req, res);
  };
}
