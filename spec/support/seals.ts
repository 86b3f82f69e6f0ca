import { createCipheriv, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import * as Iron from "iron-webcrypto";
import { SECRET } from "./app.js";

// Seals made by hand, for specs of what the cookie store refuses.

const HOUR = 3_600_000;

export interface Craft {
  secret?: string;
  prefix?: string;
  id?: string;
  /** ms since the epoch as text (or any text, to test the check); default an hour from now */
  expiry?: string | number;
  payload?: string;
  suffix?: string;
  encSalt?: string;
  macSalt?: string;
}

/**
 * Builds a seal the way seal.ts (and iron) do, with a MAC that is valid for `secret`, so a refusal can only
 * come from the field under test. The payload defaults to `{"user":"mallory"}`.
 */
export function craftSeal(o: Craft = {}): string {
  const secret = o.secret ?? SECRET;
  const encSalt = o.encSalt ?? randomBytes(32).toString("hex");
  const macSalt = o.macSalt ?? randomBytes(32).toString("hex");
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-cbc", pbkdf2Sync(secret, encSalt, 1, 32, "sha1"), iv);
  const payload = o.payload ?? JSON.stringify({ user: "mallory" });
  const encrypted = Buffer.concat([cipher.update(payload, "utf8"), cipher.final()]);
  const expiry = String(o.expiry ?? Date.now() + HOUR);
  const base = `${o.prefix ?? "Fe26.2"}*${o.id ?? "1"}*${encSalt}*${iv.toString("base64url")}*${encrypted.toString("base64url")}*${expiry}`;
  const mac = createHmac("sha256", pbkdf2Sync(secret, macSalt, 1, 32, "sha1"))
    .update(base)
    .digest("base64url");
  return `${base}*${macSalt}*${mac}${o.suffix ?? "~2"}`;
}

/** A seal made by iron-webcrypto under an arbitrary password id (iron accepts any `\w+` id). */
export async function ironSealWithId(id: string, data: object, secret = SECRET): Promise<string> {
  const sealed = await Iron.seal(globalThis.crypto, data, { id, secret }, { ...Iron.defaults, ttl: HOUR });
  return `${sealed}~2`;
}
