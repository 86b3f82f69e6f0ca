// The hot session: every connection sends the same session cookie (one session, made once), and each request
// sets its connection's key in it (`h<c>`, servers/serve.ts hotWrite) to its own sequence number, saying in
// `e` the last number of that connection the server acknowledged (2xx). A lost update is an acknowledged
// write a later read of the session does not find: the connection's next request checks its key (the server
// counts a miss), and after each measurement GET /read answers the misses so far and every key, against
// which the last acknowledged write of each connection is checked here. A 409 or 503 is not acknowledged,
// so never counted lost (the Problems column shows it). One key per connection keeps the session small
// however many requests a run makes, so what is measured is the contention, not a session growing by a key
// a request.

/** One hot scenario's connections, kept from one measurement to the next. */
export interface HotState {
  /** The next sequence number of each connection. */
  next: number[];
  /** The last acknowledged sequence number of each connection (-1: none yet). */
  acked: number[];
  /** The server's miss count at the last read. */
  missed: number;
}

export const hotState = (connections: number): HotState => ({
  next: Array.from({ length: connections }, () => 0),
  acked: Array.from({ length: connections }, () => -1),
  missed: 0,
});

/** The path of connection `c`'s request number `s`, which expects its key to hold at least `e`. */
export const hotPath = (c: number, s: number, e: number) => `/?c=${c}&s=${s}&e=${e}`;

/** What GET /read answers: the server's misses so far, the last one counted per connection, the hot keys. */
export interface HotRead {
  missed: number;
  counted: Record<string, string>;
  keys: Record<string, string>;
}

export async function readHot(base: string, cookie: string): Promise<HotRead> {
  const res = await fetch(`${base}/read`, { headers: { cookie }, signal: AbortSignal.timeout(30_000) });
  if (res.status !== 200) throw new Error(`GET ${base}/read answered ${res.status}`);
  return (await res.json()) as HotRead;
}

/**
 * The connections whose last acknowledged write the read's keys do not hold (missing, or an older number; a
 * newer one is a request whose answer never came), less those the server already counted (a later request
 * of that connection found it missing too). Each such connection's expectation is lowered to what is held,
 * so that its next request does not count the same loss again.
 */
export function lostFromRead(acked: number[], read: Pick<HotRead, "keys" | "counted">): number {
  let lost = 0;
  for (const [c, expected] of acked.entries()) {
    if (expected < 0) continue;
    const value = read.keys[`h${c}`];
    const held = value === undefined ? -1 : Number(value);
    if (held >= expected) continue;
    if (read.counted[String(c)] !== String(expected)) lost++;
    acked[c] = held;
  }
  return lost;
}

/** After a measurement: its lost updates, the server's misses since the last read plus the read's own. */
export async function settleHot(base: string, cookie: string, state: HotState): Promise<number> {
  const read = await readHot(base, cookie);
  const missed = read.missed - state.missed;
  state.missed = read.missed;
  return missed + lostFromRead(state.acked, read);
}
