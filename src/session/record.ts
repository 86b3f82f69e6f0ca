// What a store persists: the user's string keys plus Stoat's own bookkeeping. The user's keys live in a Map,
// so `__proto__` or `constructor` are ordinary keys that can never reach a prototype.

/** Key under which Stoat keeps its own data inside a payload; users cannot set it. */
export const RESERVED_KEY = "__stoat";

export interface SessionRecord {
  data: Map<string, string>;
  /** Flash messages waiting for the next request. */
  flash: Map<string, string>;
  /** When the session began, ms since the epoch (absoluteTimeout counts from here). */
  createdAt: number;
  /** Per-session idle lifetime in seconds (`expireIn`), overriding `expireAfter`. */
  maxAge?: number;
  /** `expireAtBrowserClose()`: the cookie carries no Expires. */
  browserSession?: boolean;
  /** The secret CSRF tokens are masked from; made on first use, new after cycleKey() and flush(). */
  csrf?: string;
}

/** What one request changed in a record's data: merged onto the current record by stores that can. */
export interface Changes {
  /** Key -> new value; `undefined` for a deleted key. Applied after `cleared`. */
  readonly data: ReadonlyMap<string, string | undefined>;
  /** `clear()` was called: every key not in `data` goes. */
  readonly cleared: boolean;
}

/**
 * `changes` applied to `base` (a fresher copy of the record another request may have changed): a new Map,
 * or `base` itself when the caller owns it (`inPlace`: merging many requests' changes, one copy in all).
 */
export function applyChanges(
  base: Map<string, string>,
  changes: Changes,
  inPlace = false,
): Map<string, string> {
  const merged = changes.cleared ? new Map<string, string>() : inPlace ? base : new Map(base);
  for (const [key, value] of changes.data) {
    if (value === undefined) merged.delete(key);
    else merged.set(key, value);
  }
  return merged;
}

/** A record of its own, for a request to change (the maps copied, nothing else is mutable). */
export function copyRecord(record: SessionRecord): SessionRecord {
  const copy: SessionRecord = {
    data: new Map(record.data),
    flash: new Map(record.flash),
    createdAt: record.createdAt,
  };
  if (record.maxAge !== undefined) copy.maxAge = record.maxAge;
  if (record.browserSession) copy.browserSession = true;
  if (record.csrf !== undefined) copy.csrf = record.csrf;
  return copy;
}

export function emptyRecord(now: number): SessionRecord {
  return { data: new Map(), flash: new Map(), createdAt: now };
}

/** Nothing worth keeping: no key, no flash, no CSRF secret a form page handed out tokens for. */
export function isEmptyRecord(record: SessionRecord): boolean {
  return record.data.size === 0 && record.flash.size === 0 && record.csrf === undefined;
}

interface Meta {
  c: number;
  f?: Record<string, string>;
  a?: number;
  b?: 1;
  t?: string;
}

/**
 * The prototype of payloads: an empty object with no prototype of its own, so no key of a payload reaches
 * a setter (`__proto__`, `constructor` and the like are own properties like any other). A payload made with
 * `Object.create(null)` is the same safe but a dictionary-mode object in V8; one made on this prototype is a
 * fast object, much smaller, which matters because the verified-seal cache keeps one per cookie written.
 */
const PAYLOAD_PROTOTYPE: object = Object.create(null);

/** The plain object a payload serialises: user keys at the top (as iron-session apps see them). */
export function toPayload(record: SessionRecord): Record<string, unknown> {
  // Filled in a loop rather than by fromEntries: this runs on every cookie write, and the loop is cheaper.
  const payload: Record<string, unknown> = Object.create(PAYLOAD_PROTOTYPE);
  for (const [key, value] of record.data) payload[key] = value;
  const meta: Meta = { c: Math.floor(record.createdAt / 1000) };
  if (record.flash.size > 0) meta.f = Object.fromEntries(record.flash);
  if (record.maxAge !== undefined) meta.a = record.maxAge;
  if (record.browserSession) meta.b = 1;
  if (record.csrf !== undefined) meta.t = record.csrf;
  payload[RESERVED_KEY] = meta;
  return payload;
}

/**
 * Reads a payload back. The payload passed authentication, but may come from another iron-session app: values
 * that are numbers or booleans become strings, anything else is left out. Returns undefined when it is not an
 * object at all. Never copies with `for...in` or Object.assign (prototype pollution).
 */
export function fromPayload(payload: unknown, now: number): SessionRecord | undefined {
  if (!isPlainObject(payload)) return undefined;
  const record = emptyRecord(now);
  for (const key of Object.keys(payload)) {
    const value = payload[key];
    if (key === RESERVED_KEY) readMeta(value, record);
    else if (typeof value === "string") record.data.set(key, value);
    else if (typeof value === "number" || typeof value === "boolean") record.data.set(key, String(value));
  }
  return record;
}

function readMeta(meta: unknown, record: SessionRecord): void {
  if (!isPlainObject(meta)) return;
  if (typeof meta.c === "number" && Number.isFinite(meta.c)) record.createdAt = meta.c * 1000;
  if (typeof meta.a === "number" && meta.a > 0) record.maxAge = meta.a;
  if (meta.b === 1) record.browserSession = true;
  if (typeof meta.t === "string") record.csrf = meta.t;
  if (isPlainObject(meta.f)) {
    for (const key of Object.keys(meta.f)) {
      const message = meta.f[key];
      if (typeof message === "string") record.flash.set(key, message);
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
