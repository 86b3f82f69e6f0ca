import { randomBytes, randomFillSync } from "node:crypto";

// crypto.randomBytes is a trip into OpenSSL's CSPRNG plus a new Buffer per call, and the request path asks
// for random bytes on every write (a seal's IV, an at-rest IV, a new session id): filling 4 KiB at a time
// and handing out copies of bytes not yet used makes that one trip in hundreds. The bytes come from the
// same CSPRNG and each is handed out once (Node's own randomUUID pools the same way), so nothing is weaker.

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let offset = POOL_SIZE;

/** `size` bytes from the CSPRNG, as a new Buffer the caller owns. */
export function randomBytesPooled(size: number): Buffer {
  if (size > POOL_SIZE / 4) return randomBytes(size);
  const bytes = Buffer.allocUnsafe(size);
  randomFillPooled(bytes, 0, size);
  return bytes;
}

/** Writes `size` bytes from the CSPRNG into `target` at `at` (a seal's random block, without a Buffer of its own). */
export function randomFillPooled(target: Buffer, at: number, size: number): void {
  if (size > POOL_SIZE / 4) {
    randomFillSync(target, at, size);
    return;
  }
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  pool.copy(target, at, offset, offset + size);
  offset += size;
}
