/**
 * The keys an app gives fixed types, by declaration merging (values are strings, or unions of string
 * literals, as the session stores strings):
 *
 *   declare module "stoat" {
 *     interface SessionData { user_id: string; role?: "admin" | "member" }
 *   }
 *
 * Keys it does not name stay plain strings.
 */
// biome-ignore lint/suspicious/noEmptyInterface: empty until an app merges its keys in
export interface SessionData {}

/** The value type of `key`: its declared type for a declared key (strings only), else string. */
export type SessionValue<K extends string> = K extends keyof SessionData
  ? Extract<SessionData[K], string>
  : string;
