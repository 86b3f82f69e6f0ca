// Stoat's public API: everything a user imports from "stoat".
export { Application } from "./app/application.js";
export type { Config, MiddlewareEntry } from "./app/config.js";
export { type RouteInfo, Routes, type RoutesDefinition } from "./app/routes.js";
export { generateSecret } from "./app/secrets.js";
export { escapeHtml } from "./handlers/escape_html.js";
export { Flash } from "./handlers/flash.js";
export { Handler, type HandlerClass, type RedirectOptions, type RespondOptions } from "./handlers/handler.js";
export {
  ConfigError,
  CookieOverflowError,
  InvalidCsrfTokenError,
  InvalidRequestBodyError,
  InvalidSessionValueError,
  SessionConflictError,
  SessionError,
  SessionNotEnabledError,
  SessionOverflowError,
  SessionStoreUnavailableError,
  UnknownStoreError,
  UnsafeRedirectError,
} from "./session/errors.js";
export { channels, type SuspiciousReason } from "./session/events.js";
export type {
  CommonSessionOptions,
  SessionOptions,
  StoreOptions,
  StoreOptionsByName,
} from "./session/options.js";
export type { Changes, SessionRecord } from "./session/record.js";
export { Session } from "./session/session.js";
export type { SessionData, SessionValue } from "./session/session_data.js";
export type { StoreDefinition } from "./session/stores/adapters/definition.js";
export type { Backend, Versioned, WriteOf } from "./session/stores/backend.js";
export { CookieStore } from "./session/stores/cookie_store.js";
export type {
  SessionRow,
  SessionRowAttributes,
  SessionRowClass,
} from "./session/stores/database/session_row.js";
export { registerStore, type StoreName } from "./session/stores/registry.js";
export { serverStoreFactory } from "./session/stores/server_factories.js";
export type { ExpireOptions, SessionInfo, SessionsAdmin } from "./session/stores/sessions_admin.js";
export type { Loaded, LoadResult, SaveContext, SessionStore, StoreFactory } from "./session/stores/store.js";
