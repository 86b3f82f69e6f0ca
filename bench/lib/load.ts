// Loading one scenario server with autocannon from this process (the server runs in its own): one session
// per connection, so concurrent connections never write the same session, and each connection keeps its
// cookies as a browser would (a Set-Cookie answer replaces the cookie of that name).

import autocannon from "autocannon";
import { cpuMicros } from "./cpu.js";
import { type HotState, hotPath } from "./hot.js";

export interface RoundResult {
  /** 2xx answers per second over the measured time: errors and other statuses never count as throughput. */
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  /** Connection errors, timeouts included. */
  errors: number;
  /** The server's CPU time (user + system) per request, in µs, when it could be read (Linux). */
  cpuUs?: number;
  /** req/s of this measurement's baselines, measured right around it (bracket.ts), by scenario id. */
  baselines?: Record<string, number>;
  /** The answers that were not 2xx, by status code. */
  statuses?: Record<string, number>;
  /** Hot session: the acknowledged (2xx) writes, and those of them the session lost (hot.ts). */
  acked?: number;
  lost?: number;
}

/** `cookie` (a Cookie header, "a=1; b=2") with the name=value of each `Set-Cookie` line put in. */
export function applySetCookies(cookie: string, setCookies: readonly string[]): string {
  const jar = new Map<string, string>();
  for (const pair of [...cookie.split(";"), ...setCookies.map((line) => line.split(";", 1)[0]!)]) {
    const at = pair.indexOf("=");
    if (at > 0) jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
}

/** `count` fresh sessions (counter 0) from GET /seed: one Cookie header each. */
export async function seed(base: string, count: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const res = await fetch(`${base}/seed`, { signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      const cookies = res.headers.getSetCookie();
      if (res.status !== 200 || cookies.length === 0)
        throw new Error(`GET ${base}/seed answered ${res.status} with ${cookies.length} Set-Cookie`);
      return applySetCookies("", cookies);
    }),
  );
}

/** Set-Cookie values out of llhttp's flat [name, value, name, value, ...] header list. */
function setCookiesOf(raw: readonly string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === "set-cookie") found.push(raw[i + 1]!);
  return found;
}

/** Sets a connection's next request: its Cookie header (`cookie`) and its path (`path`). */
interface RequestWriter {
  cookie(jar: string): void;
  /** Undefined when autocannon's request could not be cut as expected (only the hot scenarios need it). */
  path?: (path: string) => void;
}

/**
 * How a connection sends its new Cookie header (and, on a hot session, each request's own path) from the next
 * request on. autocannon's `setHeaders` rebuilds the request from its options (object merges, header list, a
 * new Buffer, an unused id): ~10 us of the load generator's CPU per cookie-writing response, on the two vCPUs
 * the server under test shares, which lowered every cookie-writing scenario's req/s for a cost no browser has;
 * its per-request `setupRequest` rebuilds it the same way for every request. So the request autocannon built
 * is cut once around the path and the cookie value, and each change only splices a new request buffer from
 * the pieces (a string join and a Buffer of ~200 bytes). That reaches into autocannon 9's request iterator
 * (pinned); if it is not there as expected, `setHeaders` for the cookie, and no path (a hot scenario fails).
 * The bench spec (spec/bench_load.spec.ts) checks that every request carries the cookie last set and, on a
 * hot session, its own path.
 */
function requestWriter(client: autocannon.Client, jar: string): RequestWriter {
  const slow = { cookie: (next: string) => client.setHeaders({ cookie: next }) };
  const request = (
    client as unknown as { requestIterator?: { currentRequest?: { requestBuffer?: unknown } } }
  ).requestIterator?.currentRequest;
  if (!request || !Buffer.isBuffer(request.requestBuffer)) return slow;
  const built = request.requestBuffer.toString("latin1");
  const line = `\r\ncookie: ${jar}\r\n`;
  const at = built.indexOf(line);
  if (!built.startsWith("GET / HTTP/1.1\r\n") || at === -1 || built.indexOf(line, at + 1) !== -1) return slow;
  const middle = built.slice("GET /".length, at + line.length - jar.length - 2);
  const tail = built.slice(at + line.length - 2);
  let [path, cookie] = ["/", jar];
  const write = () => {
    request.requestBuffer = Buffer.from(`GET ${path}${middle}${cookie}${tail}`, "latin1");
  };
  return {
    cookie(next) {
      cookie = next;
      write();
    },
    path(next) {
      path = next;
      write();
    },
  };
}

/**
 * A hot connection: each request it writes gets its own path (hot.ts, hotPath), from autocannon's "request"
 * event, which comes right before the request is written (its first, after a reconnect or a timeout, and after
 * each answer); each 2xx answer acknowledges the request in flight, whose number becomes what the
 * connection's next request expects to find.
 */
function hotConnection(client: autocannon.Client, i: number, writer: RequestWriter, hot: HotState): void {
  const path = writer.path;
  if (!path) throw new Error("a hot scenario needs autocannon's built request (lib/load.ts, requestWriter)");
  let inFlight = -1;
  // @types/autocannon lists "response", "body", "headers", ... but not "request", which autocannon 9 emits.
  (client as unknown as NodeJS.EventEmitter).on("request", () => {
    inFlight = hot.next[i]!++;
    path(hotPath(i, inFlight, hot.acked[i]!));
  });
  client.on("response", (status: number) => {
    if (status >= 200 && status < 300 && inFlight > hot.acked[i]!) hot.acked[i] = inFlight;
    inFlight = -1;
  });
}

/**
 * Runs autocannon against `base`/ for `seconds` with `connections`; connection i sends `jars[i]` (when
 * given) and writes back what Set-Cookie answers change, so the next measurement goes on from there. With
 * `hot`, each request's path is its connection's next hot request (the jars then all hold the one session).
 * autocannon's per-request `context` is reset after each pass over `requests`, so a connection's cookie
 * is pinned on the client itself, in `setupClient`.
 */
export async function load(
  base: string,
  seconds: number,
  connections: number,
  jars: string[] = [],
  serverPid?: number,
  hot?: HotState,
): Promise<RoundResult> {
  let next = 0;
  const cpuBefore = cpuMicros(serverPid);
  const result = await autocannon({
    url: `${base}/`,
    connections,
    duration: seconds,
    setupClient(client) {
      const i = next++;
      if (!jars[i]) return;
      client.setHeaders({ cookie: jars[i] });
      const writer = requestWriter(client, jars[i]);
      if (hot) hotConnection(client, i, writer, hot);
      client.on("headers", (info) => {
        // @types/autocannon says IncomingHttpHeaders; autocannon 9 passes the parser's info, a flat list.
        const set = setCookiesOf((info as unknown as { headers: string[] }).headers);
        if (set.length === 0) return;
        const jar = applySetCookies(jars[i]!, set);
        // A server-side session's answers usually repeat the same id (a new Expires only): nothing to resend.
        if (jar === jars[i]) return;
        jars[i] = jar;
        writer.cookie(jar);
      });
    },
  });
  const measured = (result.finish.getTime() - result.start.getTime()) / 1000;
  const cpuAfter = cpuMicros(serverPid);
  const cpu =
    cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0
      ? { cpuUs: (cpuAfter - cpuBefore) / result.requests.total }
      : {};
  const statuses = Object.entries(result.statusCodeStats ?? {})
    .filter(([status]) => !status.startsWith("2"))
    .map(([status, stats]) => [status, stats?.count ?? 0] as const);
  return {
    ...cpu,
    ...(statuses.length > 0 ? { statuses: Object.fromEntries(statuses) } : {}),
    ...(hot ? { acked: result["2xx"] } : {}),
    rps: result["2xx"] / measured,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
