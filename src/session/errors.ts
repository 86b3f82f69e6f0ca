// Every error Stoat throws on purpose is a SessionError with a stable `code`, so programs can branch on
// `err.code` instead of parsing messages (AdonisJS style). `status` is what Koa answers when one escapes.

export class SessionError extends Error {
  readonly code: string = "E_SESSION";
  status = 500;
  expose = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad option or setting found at boot. */
export class ConfigError extends SessionError {
  override readonly code: string = "E_CONFIG";
}

/** `config.session.store` names no registered store. */
export class UnknownStoreError extends ConfigError {
  override readonly code: string = "E_UNKNOWN_STORE";
}

/** A session value that is not a string, or a key Stoat reserves. */
export class InvalidSessionValueError extends SessionError {
  override readonly code: string = "E_INVALID_SESSION_VALUE";
}

/** The Set-Cookie for the cookie store would pass the 4096-byte browser limit. */
export class CookieOverflowError extends SessionError {
  override readonly code: string = "E_COOKIE_OVERFLOW";
}

/** The encoded session is larger than a server-side store accepts. */
export class SessionOverflowError extends SessionError {
  override readonly code: string = "E_SESSION_OVERFLOW";
}

/** Concurrent requests kept changing one session and the merge gave up: answered 409, nothing lost silently. */
export class SessionConflictError extends SessionError {
  override readonly code: string = "E_SESSION_CONFLICT";
  override status = 409;
  override expose = true;
}

/**
 * `redirect()` was given a target a browser would take off this host (another host, `//x`, a backslash, a
 * scheme other than http(s)) or one with a control character: answered 400 with no Location.
 */
export class UnsafeRedirectError extends SessionError {
  override readonly code: string = "E_UNSAFE_REDIRECT";
  override status = 400;
  override expose = true; // Koa then answers the message, which names the code, as the body
}

/**
 * A POST, PUT, PATCH or DELETE without this session's CSRF token, or from another origin: answered 403, and
 * nothing of the session is written.
 */
export class InvalidCsrfTokenError extends SessionError {
  override readonly code: string = "E_CSRF";
  override status = 403;
  override expose = true;
}

/**
 * A request body that cannot be decoded: bad compressed data, bad JSON, a charset other than UTF-8, a body
 * on GET or HEAD. Answered 400 (415 for an encoding or charset Stoat does not read); the client sent it.
 */
export class InvalidRequestBodyError extends SessionError {
  override readonly code: string = "E_INVALID_BODY";
  override status = 400;
  override expose = true;
  constructor(message: string, options?: ErrorOptions & { status?: number }) {
    super(message, options);
    if (options?.status !== undefined) this.status = options.status;
  }
}

/** The store could not be reached in time: answered as 503 with Retry-After. */
export class SessionStoreUnavailableError extends SessionError {
  override readonly code: string = "E_SESSION_STORE_UNAVAILABLE";
  override status = 503;
  override expose = true;
  readonly retryAfter: number;
  constructor(message: string, options?: ErrorOptions & { retryAfter?: number }) {
    super(message, options);
    this.retryAfter = options?.retryAfter ?? 5;
  }
}

/** `ctx.session` or `this.session` was used while the session middleware is not installed. */
export class SessionNotEnabledError extends SessionError {
  override readonly code: string = "E_SESSION_NOT_ENABLED";
}
