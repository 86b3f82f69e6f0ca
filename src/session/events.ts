import diagnostics from "node:diagnostics_channel";

// Instrumentation channels (docs/sessions.md#instrumentation). Messages carry only hashed ids (`2::...`),
// never a public id, and are built only when someone subscribes, so an unobserved app pays one boolean
// check.

export const channels = {
  read: diagnostics.channel("stoat:session:read"),
  write: diagnostics.channel("stoat:session:write"),
  delete: diagnostics.channel("stoat:session:delete"),
  suspicious: diagnostics.channel("stoat:session:suspicious"),
} as const;

/** Why an incoming cookie was refused; stable strings, safe to alert on. */
export type SuspiciousReason =
  | "oversize"
  | "malformed"
  | "prefix"
  | "version"
  | "expiry"
  | "expired"
  | "password-id"
  | "mac"
  | "decrypt"
  | "payload"
  | "absolute-timeout";

export function reportSuspicious(reason: SuspiciousReason, store: string): void {
  if (channels.suspicious.hasSubscribers) channels.suspicious.publish({ reason, store });
}
