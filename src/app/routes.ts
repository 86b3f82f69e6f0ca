import { Router } from "@koa/router";
import type { Context } from "koa";
import { Handler, type HandlerClass } from "../handlers/handler.js";
import { ConfigError } from "../session/errors.js";

/** One line of `stoat routes`. */
export interface RouteInfo {
  method: string;
  path: string;
  handler: string;
  action: string;
}

/** HTTP methods a Marten-style handler may define, in the order `Allow` lists them. */
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/**
 * The routing DSL of `config/routes.ts`, over @koa/router: Jets-style named actions
 * (`r.get("/posts/:id", PostsHandler, "show")`) and Marten-style handlers that answer by HTTP method
 * (`r.route("/hello", HelloHandler)` calls `get()`, `post()`, ...). Every route is checked at boot: an
 * action the handler does not define is a ConfigError, not a 500 on first request.
 */
export class Routes {
  readonly router = new Router();
  readonly list: RouteInfo[] = [];

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
    const allow = [...defined, ...(defined.includes("get") ? ["head"] : []), "options"]
      .map((m) => m.toUpperCase())
      .join(", ");
    this.router.all(path, async (ctx) => {
      const method = ctx.method === "HEAD" ? "get" : ctx.method.toLowerCase();
      if ((defined as readonly string[]).includes(method)) return dispatch(ctx, handler, method);
      ctx.set("Allow", allow);
      ctx.status = ctx.method === "OPTIONS" ? 204 : 405;
    });
    for (const m of defined)
      this.list.push({ method: m.toUpperCase(), path, handler: handler.name, action: m });
    return this;
  }

  #add(method: (typeof METHODS)[number], path: string, handler: HandlerClass, action: string): this {
    if (!isAction(handler, action)) {
      throw new ConfigError(
        `route ${method.toUpperCase()} ${path}: ${handler.name} has no action ${JSON.stringify(action)}` +
          (typeof handler === "function" && handler.prototype instanceof Handler
            ? ""
            : " (is it a Handler subclass?)"),
      );
    }
    this.router[method](path, (ctx) => dispatch(ctx, handler, action));
    this.list.push({ method: method.toUpperCase(), path, handler: handler.name, action });
    return this;
  }
}

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

async function dispatch(ctx: Context, handler: HandlerClass, action: string): Promise<void> {
  const instance = new handler(ctx) as unknown as Record<string, () => unknown>;
  await instance[action]!();
}
