import { setTimeout as sleep } from "node:timers/promises";
import { kill, startServer as spawnServer } from "../support/process.js";

// Starting and stopping app_server.ts processes (spawned by spec/support/process.ts),
// and the client side: a cookie jar kept by hand, as a browser keeps one, so one client can talk to several
// processes in turn.

export interface AppServer {
  /** http://127.0.0.1:<port> */
  base: string;
  /** SIGTERM, then the exit code once the process has ended by itself (null: killed after 15 s, or a signal). */
  stop(): Promise<number | null>;
  /** SIGKILL if still running (for `after` hooks, whatever happened before). */
  kill(): Promise<void>;
}

/** Spawns app_server.ts under tsx with the store and options, resolved once it prints LISTENING. */
export async function startServer(store: string, options: Record<string, unknown>): Promise<AppServer> {
  const { child, base } = await spawnServer(
    "spec/scale_out/app_server.ts",
    { SCALE_STORE: store, SCALE_OPTIONS: JSON.stringify(options) },
    `app_server (${store})`,
  );
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  return {
    base,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const code = await Promise.race([exited, sleep(15_000, "hung" as const, { ref: false })]);
      if (code !== "hung") return code;
      await kill(child);
      return null;
    },
    kill: () => kill(child),
  };
}

const SESSION = "_stoat_session";

/** The cookies a client holds: the Cookie header it sends is built from the Set-Cookie lines it was answered. */
export class Jar {
  readonly cookies = new Map<string, string>();

  /** A jar holding only this session cookie (to replay an old one on purpose). */
  static of(session: string): Jar {
    const jar = new Jar();
    jar.cookies.set(SESSION, session);
    return jar;
  }

  get session(): string | undefined {
    return this.cookies.get(SESSION);
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  /** Keeps what the response sets; an empty value, Max-Age=0 or an Expires in the past removes the cookie. */
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
      const eq = pair.indexOf("=");
      const [name, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
      const gone = attributes.some(
        (a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()),
      );
      if (value === "" || gone) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** One request as a browser would make it: the jar's cookies go out, its Set-Cookie answers come back in. */
export async function send(
  server: AppServer,
  jar: Jar,
  path: string,
  form?: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (jar.cookies.size > 0) headers.cookie = jar.header();
  const response = await fetch(`${server.base}${path}`, {
    method: form ? "POST" : "GET",
    headers,
    body: form ? new URLSearchParams(form) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  jar.take(response);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}
