import type { ResolvedSessionOptions } from "./options.js";
import type { SessionRecord } from "./record.js";

type ExpiryOptions = Pick<ResolvedSessionOptions, "expireAfter" | "absoluteTimeout">;

/** When `record` expires if written at `now`: its idle lifetime, capped by the absolute timeout (ms). */
export function expiryOf(record: SessionRecord, options: ExpiryOptions, now: number): number {
  const idle = now + (record.maxAge ?? options.expireAfter) * 1000;
  if (options.absoluteTimeout === undefined) return idle;
  return Math.min(idle, record.createdAt + options.absoluteTimeout * 1000);
}

/** Past the absolute timeout: the server ends it whatever the cookie's own expiry says. */
export function pastAbsoluteTimeout(record: SessionRecord, options: ExpiryOptions, now: number): boolean {
  return options.absoluteTimeout !== undefined && record.createdAt + options.absoluteTimeout * 1000 <= now;
}
