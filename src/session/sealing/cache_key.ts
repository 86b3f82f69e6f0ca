// Integer keys for the caches of verified values (seal.ts, record_sealer.ts). A Map hashes every new key
// string it is given, and each request brings new strings a few hundred characters long: the cookie or
// stored value that arrives, the one written. An integer costs nothing to hash. The key is read off
// characters of a value that are random (a MAC, a GCM tag), so values rarely share one; when two do they
// only displace each other in the cache, and a hit still compares the whole value.

/** Each base64 and base64url character's 6-bit value by character code; other ASCII characters map to 0. */
const BASE64_VALUE = new Uint8Array(128);
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
for (let i = 0; i < ALPHABET.length; i++) BASE64_VALUE[ALPHABET.charCodeAt(i)] = i;
BASE64_VALUE["+".charCodeAt(0)] = BASE64_VALUE["-".charCodeAt(0)] = 62;
BASE64_VALUE["/".charCodeAt(0)] = BASE64_VALUE["_".charCodeAt(0)] = 63;

/**
 * The cache key of `value`: the 30 bits its five base64 characters starting at `from` decode to (one-to-one
 * on each alphabet), a small integer. Positions past the end count as 0; any other character gives some 6-bit value (a value that
 * is not base64 is never a hit anyway: a hit compares the whole value).
 */
export function cacheKeyAt(value: string, from: number): number {
  let key = 0;
  for (let i = from; i < from + 5; i++) key = (key << 6) | BASE64_VALUE[value.charCodeAt(i) & 127]!;
  return key;
}
