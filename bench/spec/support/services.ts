import net from "node:net";

// The services the bench specs talk to, and what to do when one is not reachable: the rule of Stoat's own
// specs (spec/support/services.ts there), kept small here because the bench is a package of its own. Under
// CI an unreachable service is a failure, so CI can never pass by skipping; elsewhere the suite is marked
// pending and one line on stderr says why.

export type ServiceName = "redis" | "postgres";

const SERVICES: Readonly<Record<ServiceName, { env: string; url: string; port: number }>> = {
  redis: { env: "REDIS_URL", url: "redis://127.0.0.1:6379", port: 6379 },
  postgres: { env: "DATABASE_URL_PG", url: "postgres://postgres@127.0.0.1:5432/test", port: 5432 },
};

/** The service's URL from its variable, or the local default (the same ones `npm run bench` reads). */
export function serviceUrl(name: ServiceName): string {
  return process.env[SERVICES[name].env]?.trim() || SERVICES[name].url;
}

/** `CI` set to anything but "", "0" or "false" counts (the CI runner sets CI=true). */
function isCI(): boolean {
  const value = (process.env.CI ?? "").trim().toLowerCase();
  return value !== "" && value !== "0" && value !== "false";
}

/** Plain TCP connect, bounded by a second: reachability only, no protocol. */
function reachable(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (problem?: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => finish("timeout after 1000ms"), 1000);
    socket.once("connect", () => finish());
    socket.once("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
  });
}

/** For a `before` hook: returns when the service answers; otherwise throws under CI, or skips the suite. */
export async function useService(ctx: { skip(): never }, name: ServiceName): Promise<void> {
  const url = new URL(serviceUrl(name));
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = url.port ? Number(url.port) : SERVICES[name].port;
  const problem = await reachable(host, port);
  if (problem === undefined) return;
  // The address only: a URL may carry a password.
  const reason = `${name} is not reachable at ${host}:${port} (${problem})`;
  if (isCI()) throw new Error(`${reason}: under CI an unreachable service is a failure, not a skip`);
  console.warn(`[spec] skipping ${name} specs: ${reason}; start it or set ${SERVICES[name].env}`);
  ctx.skip();
}
