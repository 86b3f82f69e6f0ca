import { Packr } from "msgpackr";
import type { SessionRecord } from "../record.js";

// How a server-side record is serialised: a positional array, so decoding never builds an object from
// stored keys (no `__proto__` surprises) and the bytes stay small:
//   [1, createdAt, expiresAt, maxAge (0: none), browserSession (0/1), [k, v, k, v, ...], [flash k, v, ...],
//    csrf secret (left off when there is none, so records written before it existed read the same)]
// expiresAt lives inside the record, so expiry is enforced on read whatever the backend's TTL does.

export type SerializerName = "msgpack" | "json";

const VERSION = 1;
const packr = new Packr({ useRecords: false, moreTypes: false });

export interface Decoded {
  record: SessionRecord;
  expiresAt: number;
}

export function encodeRecord(record: SessionRecord, expiresAt: number, serializer: SerializerName): Buffer {
  const envelope: unknown[] = [
    VERSION,
    record.createdAt,
    expiresAt,
    record.maxAge ?? 0,
    record.browserSession ? 1 : 0,
    flatten(record.data),
    flatten(record.flash),
  ];
  if (record.csrf !== undefined) envelope.push(record.csrf);
  return serializer === "msgpack" ? packr.pack(envelope) : Buffer.from(JSON.stringify(envelope));
}

/** The record, or undefined for bytes that are not a record of this version. Never throws. */
export function decodeRecord(bytes: Buffer, serializer: SerializerName): Decoded | undefined {
  let envelope: unknown;
  try {
    envelope = serializer === "msgpack" ? packr.unpack(bytes) : JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(envelope) || envelope.length < 7 || envelope.length > 8 || envelope[0] !== VERSION) {
    return undefined;
  }
  const [, createdAt, expiresAt, maxAge, browser, data, flash, csrf] = envelope as unknown[];
  if (
    !isTime(createdAt) ||
    !isTime(expiresAt) ||
    typeof maxAge !== "number" ||
    (browser !== 0 && browser !== 1) ||
    (csrf !== undefined && typeof csrf !== "string")
  ) {
    return undefined;
  }
  const dataMap = pairs(data);
  const flashMap = pairs(flash);
  if (!dataMap || !flashMap) return undefined;
  const record: SessionRecord = { data: dataMap, flash: flashMap, createdAt };
  if (maxAge > 0) record.maxAge = maxAge;
  if (browser === 1) record.browserSession = true;
  if (csrf !== undefined) record.csrf = csrf as string;
  return { record, expiresAt };
}

/** [k, v, k, v, ...]; a plain loop (Array#flat on entries costs more than the rest of encoding). */
function flatten(map: Map<string, string>): string[] {
  const flat: string[] = [];
  for (const [key, value] of map) flat.push(key, value);
  return flat;
}

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function pairs(flat: unknown): Map<string, string> | undefined {
  if (!Array.isArray(flat) || flat.length % 2 !== 0) return undefined;
  const map = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) {
    const key = flat[i];
    const value = flat[i + 1];
    if (typeof key !== "string" || typeof value !== "string") return undefined;
    map.set(key, value);
  }
  return map;
}
