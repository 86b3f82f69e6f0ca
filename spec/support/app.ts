import diagnostics from "node:diagnostics_channel";
import { Application, type Config, type RoutesDefinition, type SessionOptions } from "stoat";
import type { Response } from "supertest";

/** Secrets for specs: 64 characters each, distinct. */
export const SECRET = "spec-secret-0123456789abcdef0123456789abcdef0123456789abcdef0123";
export const OTHER_SECRET = "spec-other-secret-fedcba9876543210fedcba9876543210fedcba98765432";
export const THIRD_SECRET = "spec-third-secret-00112233445566778899aabbccddeeff0011223344556";

/** A clock specs move by hand, so expiry is tested without sleeping. */
export class Clock {
  now = Date.UTC(2026, 0, 1, 12, 0, 0);
  readonly fn = () => this.now;
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}

export interface TestAppOptions {
  routes?: RoutesDefinition;
  options?: SessionOptions;
  store?: Config["session"]["store"];
  middleware?: Config["middleware"];
  clock?: Clock;
  env?: string;
  proxy?: boolean;
}

/** An Application configured the way a user would, with a fixed secret unless `options` says otherwise. */
export function testApp(o: TestAppOptions = {}): Application {
  return Application.configure((config) => {
    if (o.routes) config.routes = o.routes;
    if (o.store !== undefined) config.session.store = o.store;
    config.session.options = { secret: SECRET, ...o.options };
    // Without csrf unless asked: these specs post without tokens to test the session itself; the csrf specs
    // (spec/session/csrf.spec.ts) and the demo's test the default list.
    config.middleware = o.middleware ?? ["bodyParser", "session", "flash"];
    if (o.clock) config.clock = o.clock.fn;
    if (o.env) config.env = o.env;
    if (o.proxy !== undefined) config.proxy = o.proxy;
  });
}

/** Every Set-Cookie header line of a response. */
export function setCookies(res: Response): string[] {
  const header = res.headers["set-cookie"] as string[] | string | undefined;
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [header];
}

/** The Set-Cookie line for `name`, if the response has one. */
export function setCookieFor(res: Response, name = "_stoat_session"): string | undefined {
  return setCookies(res).find((line) => line.startsWith(`${name}=`));
}

/** The value the response sets for cookie `name` ("" when it clears it), undefined when it sets none. */
export function cookieValue(res: Response, name = "_stoat_session"): string | undefined {
  const line = setCookieFor(res, name);
  return line === undefined ? undefined : line.slice(name.length + 1).split(";")[0];
}

/** Collects messages published on a diagnostics channel until `stop()`. */
export function listen(channel: string): { messages: Record<string, unknown>[]; stop(): void } {
  const messages: Record<string, unknown>[] = [];
  const onMessage = (message: unknown) => messages.push(message as Record<string, unknown>);
  diagnostics.subscribe(channel, onMessage);
  return { messages, stop: () => diagnostics.unsubscribe(channel, onMessage) };
}
