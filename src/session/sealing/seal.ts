import {
  type Cipher,
  createCipheriv,
  createDecipheriv,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import type { SuspiciousReason } from "../events.js";
import { BoundedCache } from "./bounded_cache.js";
import { cacheKeyAt } from "./cache_key.js";
import { HmacSha256 } from "./hmac.js";
import { randomFillPooled } from "./random_pool.js";
import { SlotCache } from "./slot_cache.js";

// Iron's `Fe26.2` seal (hapi/iron, iron-webcrypto), as iron-session 8 writes it:
//   Fe26.2*<password id>*<enc salt>*<iv>*<aes-256-cbc ciphertext>*<expiry ms>*<mac salt>*<hmac-sha256>~2
// Keys are PBKDF2-SHA1(secret, salt, 1 iteration, 32 bytes), as iron derives them.
//
// iron-session does this through WebCrypto with two fresh PBKDF2 derivations per seal. Here:
// - sealing reuses one random salt pair per process, so its keys are derived once; every seal still has a
//   fresh random IV, so a fixed key is exactly as safe as iron's per-seal keys (CBC needs a random IV, HMAC
//   needs a secret key, neither needs a new key per message);
// - the two salts are 128 random bits in base64url (22 characters) where iron writes 256 bits in hex (64):
//   a salt only has to be unique to this process's secret, which 128 bits are; iron reads any salt, and the
//   cookie is 84 characters shorter each way, which counts because the header is written, sent, parsed and
//   compared on every request;
// - unsealing caches derived keys by (secret, salt) in a bounded cache, and caches the result for a cookie
//   value already verified, so the common request (the cookie we sent last time) does no crypto at all;
// - sealing runs every seal through one AES-256-CBC stream (below) instead of a new cipher per seal: making
//   a cipher costs OpenSSL 3 an algorithm fetch and a key expansion, the largest part of a seal; and the MAC
//   is HmacSha256 (hmac.ts), which allocates no native object for the garbage collector to free.
//
// The stream, and why it is as good as a fresh random IV. CBC needs each message's IV to be unpredictable to
// anyone choosing plaintexts. A stream never finalised chains every message from the previous ciphertext
// block, which an observer has seen, so the stream alone would be TLS 1.0's predictable-IV flaw. Each seal
// therefore first feeds one block R of fresh CSPRNG bytes that is never revealed: its ciphertext block
// E(K, R xor previous block) is uniformly random and unknown in advance, and it becomes the seal's IV; the
// blocks after it are exactly CBC of the (PKCS#7-padded) payload under that IV, which any iron
// implementation decrypts. This is the "random first block" of TLS 1.1 (RFC 4346, 6.2.3.2, option 2b).

const PREFIX = "Fe26.2";
/** The AES block size, in bytes. */
const BLOCK = 16;
const VERSION_SUFFIX = "~2";
/**
 * Every seal says password id "1", the id iron-session gives a string password, so iron-session reads our
 * cookies with the same secret string. The id never changes meaning when secrets rotate: unsealing tries the
 * current secret, then each old one, and the MAC decides. Only numeric ids (iron-session's password maps)
 * are accepted; `__proto__`, `constructor` and the like are refused outright.
 */
const PASSWORD_ID = "1";
const NUMERIC_ID = /^\d{0,10}$/;
const DIGITS = /^\d{1,16}$/;
const SALT = /^[\w-]{1,128}$/;
const BASE64URL = /^[\w-]+$/;

/** Longest value looked at: a browser keeps at most 4096 bytes per cookie, so longer is forged. */
export const MAX_SEAL_LENGTH = 4096;

export interface Unsealed {
  ok: true;
  /** The parsed payload. Shared with the verified cache: read it, never mutate it. */
  data: unknown;
  /** Expiry inside the seal, ms since the epoch. */
  expiresAt: number;
  /** Opened with an old secret: the next write reseals it with the current one. */
  oldSecret: boolean;
}
export type UnsealResult = Unsealed | { ok: false; reason: SuspiciousReason };

interface Verified {
  /** The whole seal: the cache is keyed by a few characters of its MAC (below), so a hit compares it all. */
  sealed: string;
  /** Parsed when first presented back (a seal a browser never returns costs no parse), or handed over. */
  data: unknown;
  /**
   * The JSON, until it is parsed: kept only for a seal() whose payload is not handed over. An entry is held
   * past the next garbage collection, so what it need not hold is not kept (less to copy and promote).
   */
  json: string | undefined;
  expiresAt: number;
  oldSecret: boolean;
}

export class IronSealer {
  readonly #secrets: readonly string[];
  readonly #encSalt = randomBytes(16).toString("base64url");
  readonly #macSalt = randomBytes(16).toString("base64url");
  /** The MAC of every seal this sealer writes (current secret, this process's MAC salt). */
  readonly #mac: HmacSha256;
  /** The CBC stream every seal goes through (see the top of this file); padding is done here, never by final. */
  readonly #cbc: Cipher;
  /** Encryption keys by (secret, salt): a salt comes from the client, so bounded. */
  readonly #keys = new BoundedCache<string, Buffer>(512);
  /** MACs by (secret, salt), bounded for the same reason. */
  readonly #macs = new BoundedCache<string, HmacSha256>(512);
  /** Seals verified or written here, by a few characters of their MAC (cacheKey, slot_cache.ts). */
  readonly #verified = new SlotCache<Verified>(2048);

  /** @param secrets the current secret first, then old ones that may still unseal */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new TypeError("IronSealer needs at least one secret");
    this.#secrets = secrets;
    this.#mac = this.#macFor(0, this.#macSalt);
    this.#cbc = createCipheriv("aes-256-cbc", this.#key(0, this.#encSalt), randomBytes(BLOCK));
    this.#cbc.setAutoPadding(false);
  }

  /** Seals `data` (JSON-serialisable) with the current secret, to expire at `expiresAt` (ms). */
  seal(data: object, expiresAt: number): string {
    // What the seal opens to is parsed from the JSON when first presented: the caller may change `data`.
    return this.#seal(JSON.stringify(data), undefined, expiresAt);
  }

  /**
   * seal() for a payload handed over: plain JSON values only (strings, finite numbers, booleans, null, arrays,
   * plain objects), never changed afterwards. It is kept as what the seal opens to, so the request that
   * presents this cookie next (the usual one) parses nothing: the cookie store hands over the fresh payload
   * it makes per write. Not parsing it again saves more than the parse itself: parsed objects made on one
   * request and kept by a cache entry are what the garbage collector has to copy.
   */
  sealOwned(payload: object, expiresAt: number): string {
    return this.#seal(JSON.stringify(payload), payload, expiresAt);
  }

  #seal(json: string, data: unknown, expiresAt: number): string {
    // R, the payload, PKCS#7 padding (1 to 16 bytes, each the pad length), in one buffer through the stream.
    const length = Buffer.byteLength(json);
    const pad = BLOCK - (length % BLOCK);
    const blocks = Buffer.allocUnsafe(BLOCK + length + pad);
    randomFillPooled(blocks, 0, BLOCK);
    blocks.write(json, BLOCK, "utf8");
    blocks.fill(pad, BLOCK + length);
    const out = this.#cbc.update(blocks);
    // Whole blocks in, whole blocks out: anything else would mean the stream lost its place.
    if (out.length !== blocks.length) throw new Error("the seal's CBC stream returned a partial block");
    const iv = out.toString("base64url", 0, BLOCK);
    const encrypted = out.toString("base64url", BLOCK);
    const base = `${PREFIX}*${PASSWORD_ID}*${this.#encSalt}*${iv}*${encrypted}*${Math.floor(expiresAt)}`;
    const mac = this.#mac.digest(base);
    const sealed = `${base}*${this.#macSalt}*${mac}${VERSION_SUFFIX}`;
    this.#verified.set(cacheKey(sealed), {
      sealed,
      data,
      json: data === undefined ? json : undefined,
      expiresAt: Math.floor(expiresAt),
      oldSecret: false,
    });
    return sealed;
  }

  /** Opens a seal. Never throws: every failure is a reason, fit for the suspicious channel. */
  unseal(value: string, now: number): UnsealResult {
    if (value.length > MAX_SEAL_LENGTH) return { ok: false, reason: "oversize" };
    const known = this.#verified.get(cacheKey(value));
    if (known && known.sealed === value) {
      if (known.expiresAt <= now) return { ok: false, reason: "expired" };
      if (known.data === undefined) {
        known.data = JSON.parse(known.json!);
        known.json = undefined;
      }
      return { ok: true, data: known.data, expiresAt: known.expiresAt, oldSecret: known.oldSecret };
    }

    let body = value;
    const tilde = value.indexOf("~");
    if (tilde !== -1) {
      if (value.slice(tilde) !== VERSION_SUFFIX) return { ok: false, reason: "version" };
      body = value.slice(0, tilde);
    }
    const parts = body.split("*");
    if (parts.length !== 8) return { ok: false, reason: "malformed" };
    const [prefix, passwordId, encSalt, iv, encrypted, expiry, macSalt, mac] = parts as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (prefix !== PREFIX) return { ok: false, reason: "prefix" };
    if (!NUMERIC_ID.test(passwordId)) return { ok: false, reason: "password-id" };
    if (!DIGITS.test(expiry)) return { ok: false, reason: "expiry" };
    if (!SALT.test(encSalt) || !SALT.test(macSalt) || !BASE64URL.test(iv) || !BASE64URL.test(encrypted)) {
      return { ok: false, reason: "malformed" };
    }
    const expiresAt = Number(expiry);
    if (expiresAt <= now) return { ok: false, reason: "expired" };

    // Compared as text, as iron does: decoding first would accept other spellings of the same bytes
    // (the last base64url character has unused low bits).
    const given = Buffer.from(mac);
    const macBase = body.slice(0, body.length - macSalt.length - mac.length - 2);
    let index = -1;
    for (let i = 0; i < this.#secrets.length && index === -1; i++) {
      const expected = Buffer.from(this.#macFor(i, macSalt).digest(macBase));
      if (given.length === expected.length && timingSafeEqual(given, expected)) index = i;
    }
    if (index === -1) return { ok: false, reason: "mac" };

    let plaintext: string;
    try {
      const decipher = createDecipheriv(
        "aes-256-cbc",
        this.#key(index, encSalt),
        Buffer.from(iv, "base64url"),
      );
      plaintext = Buffer.concat([
        decipher.update(Buffer.from(encrypted, "base64url")),
        decipher.final(),
      ]).toString("utf8");
    } catch {
      return { ok: false, reason: "decrypt" };
    }
    let data: unknown;
    try {
      data = JSON.parse(plaintext);
    } catch {
      return { ok: false, reason: "payload" };
    }
    this.#verified.set(cacheKey(value), {
      sealed: value,
      data,
      json: undefined,
      expiresAt,
      oldSecret: index > 0,
    });
    return { ok: true, data, expiresAt, oldSecret: index > 0 };
  }

  /** The MAC under (secret, salt), its pads kept instead of the key (the key itself is used for nothing else). */
  #macFor(secretIndex: number, salt: string): HmacSha256 {
    return this.#macs.getOrSet(
      `${secretIndex}:${salt}`,
      () => new HmacSha256(this.#derive(secretIndex, salt)),
    );
  }

  /** The encryption key under (secret, salt). */
  #key(secretIndex: number, salt: string): Buffer {
    return this.#keys.getOrSet(`${secretIndex}:${salt}`, () => this.#derive(secretIndex, salt));
  }

  /** Iron's key derivation: PBKDF2-SHA1, one iteration, 32 bytes. */
  #derive(secretIndex: number, salt: string): Buffer {
    return pbkdf2Sync(this.#secrets[secretIndex]!, salt, 1, 32, "sha1");
  }
}

/** The verified cache's key (cache_key.ts): the MAC's last five characters before the version suffix. */
function cacheKey(value: string): number {
  return cacheKeyAt(value, value.length - VERSION_SUFFIX.length - 5);
}
