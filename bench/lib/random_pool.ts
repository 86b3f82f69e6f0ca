import { randomBytes, randomFillSync } from "node:crypto";

// A copy of Stoat's CSPRNG pool (src/session/sealing/random_pool.ts), for the contract floor's IVs: the floor must
// take its random bytes the way Stoat's at-rest cipher does, and the pool is not part of Stoat's public
// exports. crypto.randomBytes costs ~3 µs a call; filling 4 KiB at a time and handing out copies of bytes not
// yet used costs ~0.1 µs. Each byte is handed out once, so nothing is weaker.

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let offset = POOL_SIZE;

/** `size` bytes from the CSPRNG, as a new Buffer the caller owns. */
export function randomBytesPooled(size: number): Buffer {
  if (size > POOL_SIZE / 4) return randomBytes(size);
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.allocUnsafe(size);
  pool.copy(bytes, 0, offset, offset + size);
  offset += size;
  return bytes;
}
