import { randomBytes, timingSafeEqual } from "node:crypto";

// CSRF tokens bound to a session, as Rails masks them: the session keeps one random secret, and every token
// handed out is a fresh random mask followed by mask XOR secret, so no two pages carry the same bytes (a
// compressed response cannot leak the secret byte by byte: BREACH) while every token stays valid for the
// session. Written here over node:crypto's primitives: the maintained token libraries sign with a salt
// instead of masking, which needs a hash per check.

const SECRET_BYTES = 32;
/** Base64url of mask + masked secret: 64 bytes. */
const TOKEN_LENGTH = 86;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A new session secret: 32 random bytes, base64url. */
export function newCsrfSecret(): string {
  return randomBytes(SECRET_BYTES).toString("base64url");
}

/** A token for `secret`, masked afresh. */
export function maskCsrfToken(secret: string): string {
  const raw = Buffer.from(secret, "base64url");
  const token = randomBytes(SECRET_BYTES * 2);
  for (let i = 0; i < SECRET_BYTES; i++) token[SECRET_BYTES + i] = token[i]! ^ raw[i]!;
  return token.toString("base64url");
}

/** Whether `token` (untrusted) unmasks to `secret`, compared in constant time. */
export function csrfTokenMatches(token: unknown, secret: string): boolean {
  if (typeof token !== "string" || token.length !== TOKEN_LENGTH || !BASE64URL.test(token)) return false;
  const bytes = Buffer.from(token, "base64url");
  const raw = Buffer.from(secret, "base64url");
  if (bytes.length !== SECRET_BYTES * 2 || raw.length !== SECRET_BYTES) return false;
  const unmasked = Buffer.allocUnsafe(SECRET_BYTES);
  for (let i = 0; i < SECRET_BYTES; i++) unmasked[i] = bytes[i]! ^ bytes[SECRET_BYTES + i]!;
  return timingSafeEqual(unmasked, raw);
}
