import { hash } from "node:crypto";
import { randomBytesPooled } from "./sealing/random_pool.js";

// Session ids of the server-side stores: 256 random bits, base64url, validated before any store access,
// and only a hash of the id ever reaches the store, a log or an event (Rack's private id), so a leaked
// database or log holds nothing that can be replayed as a cookie, and lookups by hash leak no timing about
// real ids.

const WELL_FORMED = /^[A-Za-z0-9_-]{43}$/;

export function newSessionId(): string {
  return randomBytesPooled(32).toString("base64url");
}

/** Untrusted input check, before any store access: exactly 43 base64url characters. */
export function isWellFormedId(value: string): boolean {
  return WELL_FORMED.test(value);
}

/** The key a store keeps: `2::` + SHA-256 hex of the public id. */
export function privateId(publicId: string): string {
  return `2::${hash("sha256", publicId, "hex")}`;
}
