import FindMyWay from "find-my-way";
import type { Context, Middleware } from "koa";
import { Handler, type HandlerClass } from "../handlers/handler.js";
import { ConfigError } from "../session/errors.js";

declare module "koa" {
  interface DefaultContext {
    /** The matched route's path parameters (`/posts/:id` gives `{ id }`), decoded. */
    params: Record<string, string>;
  }
}

/** One line of `stoat routes`. */
export interface RouteInfo {
  method: string;
  path: string;
  handler: string;
  action: string;
}

/** HTTP methods a Marten-style handler may define, in the order `Allow` lists them. */
const METHODS = ["get", "post", "put", "patch", "delete"] as const;
type Method = (typeof METHODS)[number];
/** What `Allow` may list, in the order it lists them (HEAD comes with GET; OPTIONS is answered for every path). */
const ALLOW_ORDER = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/** What a matched route runs: the handler class and the action to call on a new instance. */
interface Target {
  handler: HandlerClass;
  action: string;
}

/**
 * The routing DSL of `config/routes.ts`: Jets-style named actions (`r.get("/posts/:id", PostsHandler,
 * "show")`) and Marten-style handlers that answer by HTTP method (`r.route("/hello", HelloHandler)` calls
 * `get()`, `post()`, ...). Every route is checked at boot: an action the handler does not define, or a
 * method and path defined twice, is a ConfigError, not a 500 on the first request.
 *
 * Matching is find-my-way's radix tree (Fastify's router): one lookup a request, no middleware chain built
 * per request. It was the largest part of Stoat's own cost on a request that never touches the session.
 * Paths match without regard to case or a trailing slash, as they did under @koa/router.
 */
export class Routes {
  readonly list: RouteInfo[] = [];
  readonly #router = FindMyWay({
    ignoreTrailingSlash: true,
    caseSensitive: false,
    // Node caps a request line near 16 KB; find-my-way's default (100) would answer 404 for longer values.
    maxParamLength: 16_384,
  });

  get(path: string, handler: HandlerClass, action = "get"): this {
    return this.#add("get", path, handler, action);
  }

  post(path: string, handler: HandlerClass, action = "post"): this {
    return this.#add("post", path, handler, action);
  }

  put(path: string, handler: HandlerClass, action = "put"): this {
    return this.#add("put", path, handler, action);
  }

  patch(path: string, handler: HandlerClass, action = "patch"): this {
    return this.#add("patch", path, handler, action);
  }

  delete(path: string, handler: HandlerClass, action = "delete"): this {
    return this.#add("delete", path, handler, action);
  }

  /** Marten style: the request's method picks the action; a method the handler lacks answers 405 + Allow. */
  route(path: string, handler: HandlerClass): this {
    const defined = METHODS.filter((m) => isAction(handler, m));
    if (defined.length === 0) {
      throw new ConfigError(`${handler.name} (route ${path}) defines none of ${METHODS.join("(), ")}()`);
    }
    for (const m of defined) this.#add(m, path, handler, m);
    return this;
  }

  /**
   * The Koa middleware that dispatches: a matched route runs its action; a path known for other methods
   * answers OPTIONS with 204 and any other method with 405, both with `Allow`; an unknown path goes on
   * downstream (Koa's 404).
   */
  middleware(): Middleware {
    const router = this.#router;
    return function routes(ctx, next) {
      const found = router.find(ctx.method as FindMyWay.HTTPMethod, ctx.path);
      if (found) {
        ctx.params = found.params as Record<string, string>;
        const { handler, action } = found.store as Target;
        return dispatch(ctx, handler, action);
      }
      const allow = ALLOW_ORDER.filter(
        (m) => m === "OPTIONS" || router.find(m as FindMyWay.HTTPMethod, ctx.path) !== null,
      );
      if (allow.length === 1) return next(); // OPTIONS alone: no route has this path
      ctx.set("Allow", allow.join(", "));
      ctx.status = ctx.method === "OPTIONS" ? 204 : 405;
      return undefined;
    };
  }

  /** The handler a request with this method and path would run, if a route matches. */
  handlerFor(method: string, path: string): HandlerClass | undefined {
    const found = this.#router.find(method as FindMyWay.HTTPMethod, path);
    return found ? (found.store as Target).handler : undefined;
  }

  #add(method: Method, path: string, handler: HandlerClass, action: string): this {
    if (!isAction(handler, action)) {
      throw new ConfigError(
        `route ${method.toUpperCase()} ${path}: ${handler.name} has no action ${JSON.stringify(action)}` +
          (typeof handler === "function" && handler.prototype instanceof Handler
            ? ""
            : " (is it a Handler subclass?)"),
      );
    }
    const target: Target = { handler, action };
    // HEAD runs the GET action; Koa sends the headers without the body.
    for (const m of method === "get" ? ["GET", "HEAD"] : [method.toUpperCase()]) {
      if (this.#router.hasRoute(m as FindMyWay.HTTPMethod, path)) {
        throw new ConfigError(`route ${m} ${path} is defined twice; each method and path gets one action`);
      }
      try {
        this.#router.on(m as FindMyWay.HTTPMethod, path, unused, target);
      } catch (err) {
        throw new ConfigError(`route ${m} ${path}: ${(err as Error).message}`);
      }
    }
    this.list.push({ method: method.toUpperCase(), path, handler: handler.name, action });
    return this;
  }
}

/** find-my-way wants a handler per route; Stoat dispatches from the route's store, so this never runs. */
function unused(): void {}

/** A function of `config/routes.ts`: `export default (r: Routes) => { ... }`. */
export type RoutesDefinition = (r: Routes) => void;

/**
 * True when `name` is a method the subclass defines. Names of Handler's own members (`json`, `params`,
 * ...) are never actions, even when a subclass overrides them: a request must not call a helper.
 */
function isAction(handler: HandlerClass, name: string): boolean {
  if (typeof handler !== "function" || !(handler.prototype instanceof Handler)) return false;
  if (name in Handler.prototype) return false;
  for (
    let proto = handler.prototype;
    proto && proto !== Handler.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor) return typeof descriptor.value === "function" && name !== "constructor";
  }
  return false;
}

/** Runs the action on a new handler; its promise (if async) goes to Koa as is, with no wrapper of our own. */
function dispatch(ctx: Context, handler: HandlerClass, action: string): unknown {
  const instance = new handler(ctx) as unknown as Record<string, () => unknown>;
  return instance[action]!();
}
