import { ConfigError } from "./errors.js";
import type { SessionRowClass } from "./stores/database/session_row.js";
import { rules, type Schema, validate } from "./validation.js";

/** The options every store takes: the cookie, the expiry and the secrets (docs/configuration.md). */
export interface CommonSessionOptions {
  /** Cookie name, default `_stoat_session`; a `__Host-` name forces Secure, Path=/ and no Domain. */
  key?: string;
  domain?: string;
  path?: string;
  /** Idle (sliding) expiry in seconds, default 1209600 (14 days). */
  expireAfter?: number;
  /** Hard limit in seconds since the session began, whatever the activity. */
  absoluteTimeout?: number;
  /** Refresh the expiry of an unchanged session at most this often (seconds), default min(60, expireAfter/2). */
  touchAfter?: number;
  /** `"auto"` (default): Secure on HTTPS requests (Koa's `proxy` setting decides) and in production. */
  secure?: "auto" | boolean;
  httpOnly?: boolean;
  sameSite?: "lax" | "strict" | "none" | false;
  /** At least 32 characters; default SECRET_KEY_BASE. */
  secret?: string;
  /** Old secrets still accepted for reading; default SECRET_KEY_BASE_OLD (comma-separated). */
  oldSecret?: string | string[];
}

/** What every server-side store takes besides the common options. */
export interface ServerSideOptions {
  /** Encrypt records at rest (AES-256-GCM, key from the secret); default true. */
  encrypt?: boolean;
  /** How records are serialised; default "msgpack". */
  serializer?: "msgpack" | "json";
  /** Seconds to wait for the store per call before answering 503; default 2. */
  timeout?: number;
}

/** A Keyv store's key prefix. */
interface Namespaced {
  /** Key prefix inside the store; default "stoat:sess". */
  namespace?: string;
}

/** Connections per pool. */
interface Pooled {
  /** Connections, default 10. */
  poolSize?: number;
}

/**
 * Each shipped store's options, by name: `StoreOptions<"redis">` is what the redis store accepts, so
 * `config.session.options = { ... } satisfies StoreOptions<"redis">` checks them against that store alone.
 */
export interface StoreOptionsByName {
  cookie: CommonSessionOptions;
  memory: CommonSessionOptions &
    ServerSideOptions &
    Namespaced & {
      /** The most sessions kept (the oldest go first), default 10000. */
      maxEntries?: number;
    };
  redis: CommonSessionOptions &
    ServerSideOptions &
    Namespaced & {
      /** Where the server is, default "redis://127.0.0.1:6379". */
      url?: string;
      /** A Redis Cluster instead of `url`: `{ rootNodes: ["redis://host:port", ...] }`, any of its nodes. */
      cluster?: { rootNodes: readonly (string | { url: string })[] };
    };
  memcache: CommonSessionOptions &
    ServerSideOptions &
    Namespaced &
    Pooled & {
      /** "host:port", default "localhost:11211". */
      memcacheServer?: string;
    };
  sqlite: CommonSessionOptions &
    ServerSideOptions &
    Namespaced & {
      /** The database file, default "db/sessions.sqlite3". */
      database?: string;
    };
  postgres: CommonSessionOptions &
    ServerSideOptions &
    Namespaced &
    Pooled & {
      /** Where the server is: `postgres://...`. */
      url?: string;
    };
  mysql: CommonSessionOptions &
    ServerSideOptions &
    Namespaced &
    Pooled & {
      /** Where the server is: `mysql://...` or `mariadb://...`. */
      url?: string;
    };
  keyv: CommonSessionOptions &
    ServerSideOptions &
    Namespaced & {
      /** Any Keyv instance (mongo, dynamo, valkey, ...). */
      keyv?: unknown;
    };
  database: CommonSessionOptions &
    ServerSideOptions &
    Pooled & {
      /** `sqlite://path` (default "sqlite://db/sessions.sqlite3"), `postgres://...`, `mysql://...` or `mariadb://...`. */
      url?: string;
      /** The table, default "sessions". */
      table?: string;
      /** The primary key column, default "id"; the session id column's name (or false) for a legacy table keyed by it. */
      primaryKey?: string | false;
      /** The column of the hashed session id, default "session_id". */
      sessionIdColumn?: string;
      /** The column of the encoded session, default "data". */
      dataColumn?: string;
      /** The largest encoded session in bytes, default 65535; larger writes throw SessionOverflowError. */
      maxDataBytes?: number;
      /** A row class replacing the built-in one (findBySessionId, new({ sessionId, data }), save, destroy). */
      sessionClass?: SessionRowClass;
      /** The session key copied into the user_id column, default "user_id". */
      userKey?: string;
    };
}

/** The options of the shipped store `name`. */
export type StoreOptions<N extends keyof StoreOptionsByName> = StoreOptionsByName[N];

/** Every option of every shipped store; each store accepts only its own, and says so at boot. */
type AnyStoreOptions = {
  [N in keyof StoreOptionsByName]: (x: StoreOptionsByName[N]) => void;
}[keyof StoreOptionsByName] extends (x: infer I) => void
  ? I
  : never;

/** `config.session.options`, as a user writes it (docs/configuration.md). */
export interface SessionOptions extends AnyStoreOptions {}

export interface ResolvedSessionOptions {
  key: string;
  domain: string | undefined;
  path: string;
  expireAfter: number;
  absoluteTimeout: number | undefined;
  touchAfter: number;
  secure: "auto" | boolean;
  httpOnly: boolean;
  sameSite: "lax" | "strict" | "none" | false;
  /** The current secret first, then the old ones. */
  secrets: readonly string[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PATH = /^\/[\x21-\x3A\x3C-\x7E]*$/;
const DOMAIN = /^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

export const sessionOptionRules: Schema = {
  key: rules.string(TOKEN, "a cookie name (letters, digits and !#$%&'*+-.^_`|~)"),
  domain: rules.string(DOMAIN, 'a domain name such as "example.com"'),
  path: rules.string(PATH, 'a path starting with "/" without ";" or spaces'),
  expireAfter: rules.seconds(),
  absoluteTimeout: rules.seconds(),
  touchAfter: rules.seconds(0),
  secure: rules.oneOf("auto", true, false),
  httpOnly: rules.boolean(),
  sameSite: rules.oneOf("lax", "strict", "none", false),
  // Checked by resolveSecrets, whose messages never print the value.
  secret: rules.any(),
  oldSecret: rules.any(),
};

/**
 * Checks `given` (common options plus the store's own) and fills in the defaults. `where` names them in
 * errors (config.session.previousOptions for the previous store's).
 */
export function resolveSessionOptions(
  given: SessionOptions,
  storeRules: Schema,
  secrets: readonly string[],
  where = "config.session.options",
): ResolvedSessionOptions {
  validate(given, { ...sessionOptionRules, ...storeRules }, where);
  const expireAfter = given.expireAfter ?? 1209600;
  const resolved: ResolvedSessionOptions = {
    key: given.key ?? "_stoat_session",
    domain: given.domain,
    path: given.path ?? "/",
    expireAfter,
    absoluteTimeout: given.absoluteTimeout,
    touchAfter: given.touchAfter ?? Math.min(60, Math.floor(expireAfter / 2)),
    secure: given.secure ?? "auto",
    httpOnly: given.httpOnly ?? true,
    sameSite: given.sameSite ?? "lax",
    secrets,
  };
  if (resolved.touchAfter >= expireAfter) {
    throw new ConfigError(
      `${where}.touchAfter (${resolved.touchAfter}) must be less than expireAfter (${expireAfter})`,
    );
  }
  const prefixed = resolved.key.startsWith("__Host-")
    ? "__Host-"
    : resolved.key.startsWith("__Secure-") && "__Secure-";
  if (prefixed) {
    if (resolved.secure === false) {
      throw new ConfigError(`${where}.secure cannot be false with a ${prefixed} cookie name`);
    }
    resolved.secure = true;
  }
  if (prefixed === "__Host-" && (resolved.domain !== undefined || resolved.path !== "/")) {
    throw new ConfigError(`a __Host- cookie name needs path "/" and no domain (${where})`);
  }
  if (resolved.sameSite === "none" && resolved.secure === false) {
    throw new ConfigError(`${where}.sameSite "none" needs secure (browsers drop it otherwise)`);
  }
  return resolved;
}
