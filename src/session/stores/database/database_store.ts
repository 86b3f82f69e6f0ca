import { setTimeout as sleep } from "node:timers/promises";
import {
  SessionConflictError,
  SessionError,
  SessionOverflowError,
  SessionStoreUnavailableError,
} from "../../errors.js";
import { channels } from "../../events.js";
import { isWellFormedId, privateId } from "../../ids.js";
import type { SessionRecord } from "../../record.js";
import { RecordSealer, type RecordSealerOptions } from "../../sealing/record_sealer.js";
import { mergeRecord, snapshotOf } from "../merge.js";
import { noteRead, readOf } from "../read_note.js";
import type { LoadResult, SaveContext, SessionStore } from "../store.js";
import type { SessionRow, SessionRowClass } from "./session_row.js";
import type { SessionsAdmin } from "./sessions_admin.js";

// The `database` store: one row per session in a real table, reached only through a row class
// (session_row.ts). Like every server-side store it keeps only the hashed id and an encoded, by default
// encrypted, record that carries its own expiry. What it adds: no lost updates (a save merges the keys the
// request changed onto the current row, with compare-and-set and bounded retries, then 409), destroy wins
// (a request in flight never brings back a row another request deleted), and a user_id column.

export interface DatabaseStoreOptions extends RecordSealerOptions {
  rows: SessionRowClass;
  /** Largest encoded record, in bytes (UTF-8), default 65535. */
  maxDataBytes?: number;
  /** The session key copied into user_id, default "user_id". */
  userKey?: string;
  /** The expiry of a merged record whose per-session expiry came from the current row (expiryOf). */
  expiry?: (record: SessionRecord, now: number) => number;
  admin?: SessionsAdmin;
  close?: () => Promise<void>;
  /** Compare-and-set attempts before SessionConflictError, default 20. */
  maxAttempts?: number;
}

const USER_ID_BYTES = 255;

export class DatabaseStore implements SessionStore {
  readonly name = "database";
  readonly usesIds = true;
  /**
   * cycleKey() moves the row: the old one is deleted first, and only the request whose DELETE removed it
   * writes the new one, so parallel cycles end on one valid id. Needs a row class that deletes in one
   * statement and says how many rows went (the built-in one does).
   */
  readonly movesOnCycle: boolean;
  readonly admin: SessionsAdmin | undefined;
  readonly #rows: SessionRowClass;
  readonly #sealer: RecordSealer;
  readonly #maxDataBytes: number;
  readonly #userKey: string;
  readonly #expiry: DatabaseStoreOptions["expiry"];
  readonly #close: (() => Promise<void>) | undefined;
  readonly #maxAttempts: number;
  /** The row class can compare-and-set (the built-in one can; a custom one may). */
  readonly #cas: boolean;

  constructor(options: DatabaseStoreOptions) {
    this.#rows = options.rows;
    this.#sealer = new RecordSealer(options);
    this.#maxDataBytes = options.maxDataBytes ?? 65535;
    this.#userKey = options.userKey ?? "user_id";
    this.#expiry = options.expiry;
    this.#close = options.close;
    this.#maxAttempts = options.maxAttempts ?? 20;
    this.#cas = typeof options.rows.prototype.saveIfUnchanged === "function";
    this.movesOnCycle = this.#cas && typeof options.rows.destroyBySessionId === "function";
    this.admin = options.admin;
  }

  /** One indexed query (by the session id column); nothing else is read. */
  async load(cookieValue: string, now: number): Promise<LoadResult> {
    if (!isWellFormedId(cookieValue)) return { rejected: "malformed" };
    const key = privateId(cookieValue);
    if (channels.read.hasSubscribers) channels.read.publish({ sid: key, store: this.name });
    const row = await this.#call("read", () => this.#rows.findBySessionId(key));
    if (!row) return undefined; // strict: an unknown id is answered with a fresh one
    const opened = this.#sealer.open(row.data, now);
    if ("record" in opened) noteRead(this, opened.record, snapshotOf(row.data, opened.record));
    return opened;
  }

  async save(
    record: SessionRecord,
    expiresAt: number,
    id: string | undefined,
    now: number,
    context?: SaveContext,
  ): Promise<string | undefined> {
    if (id === undefined || !isWellFormedId(id))
      throw new TypeError("a server-side store saves under a session id");
    const key = privateId(id);
    if (context?.replacing !== undefined && this.movesOnCycle && isWellFormedId(context.replacing)) {
      const from = privateId(context.replacing);
      if (from !== key) {
        const removed = await this.#call("delete", () => this.#rows.destroyBySessionId!(from));
        if (removed !== 1) return undefined; // another cycleKey, or a sign-out, took the old row first
        if (channels.delete.hasSubscribers) channels.delete.publish({ sid: from, store: this.name });
        const row = new this.#rows({ sessionId: key, data: this.#encode(record, expiresAt) });
        await this.#write(row, record, expiresAt, now);
        if (channels.write.hasSubscribers) channels.write.publish({ sid: key, store: this.name });
        return id;
      }
    }
    if (context?.existing) {
      const saved = this.#cas
        ? await this.#mergeAndCompareAndSet(key, record, expiresAt, now, context)
        : await this.#mergeOntoFreshRow(key, record, expiresAt, now, context);
      if (!saved) return undefined; // destroyed meanwhile: destroy wins
    } else if (context) {
      // A new session, or a new id after cycleKey/flush: the id is fresh, so a plain INSERT.
      await this.#write(
        new this.#rows({ sessionId: key, data: this.#encode(record, expiresAt) }),
        record,
        expiresAt,
        now,
      );
    } else {
      await this.#replace(key, record, expiresAt, now);
    }
    if (channels.write.hasSubscribers) channels.write.publish({ sid: key, store: this.name });
    return id;
  }

  /**
   * Moves the expiry (in the data and in expires_at) of a record this request did not change. With
   * compare-and-set it is one UPDATE guarded by the data this request read, so it can neither bring back a
   * row destroyed meanwhile nor overwrite a change another request made meanwhile (that request's write
   * already moved the expiry): either way it is skipped.
   */
  async touch(record: SessionRecord, expiresAt: number, cookieValue: string, now: number): Promise<string> {
    if (!isWellFormedId(cookieValue)) return cookieValue;
    const key = privateId(cookieValue);
    const read = readOf(this, record);
    let written: boolean;
    if (read && this.#cas) {
      const row = new this.#rows({ sessionId: key, data: this.#encode(record, expiresAt) });
      written = await this.#compareAndSet(row, read.data, record, expiresAt, now);
    } else {
      // A record this store did not load (or a row class without compare-and-set): keep the current data.
      const row = await this.#call("read", () => this.#rows.findBySessionId(key));
      const current = this.#sealer.live(row?.data, now);
      if (!row || !current) return cookieValue; // gone or over: not extended
      if (this.#cas) {
        const next = new this.#rows({ sessionId: key, data: this.#encode(current.record, expiresAt) });
        written = await this.#compareAndSet(next, row.data, current.record, expiresAt, now);
      } else {
        row.data = this.#encode(current.record, expiresAt);
        await this.#write(row, current.record, expiresAt, now);
        written = true;
      }
    }
    if (written && channels.write.hasSubscribers) channels.write.publish({ sid: key, store: this.name });
    return cookieValue;
  }

  async destroy(cookieValue: string): Promise<void> {
    if (!isWellFormedId(cookieValue)) return;
    const key = privateId(cookieValue);
    const rows = this.#rows;
    await this.#call("delete", async () => {
      if (rows.destroyBySessionId) await rows.destroyBySessionId(key);
      else await (await rows.findBySessionId(key))?.destroy();
    });
    if (channels.delete.hasSubscribers) channels.delete.publish({ sid: key, store: this.name });
  }

  async close(): Promise<void> {
    await this.#close?.();
  }

  /**
   * The first attempt writes this request's record guarded by the data it read: when nobody wrote in
   * between (the usual case) that is the whole save, one UPDATE. When the guard fails, the row is read
   * again and this request's changes are merged onto it, after a short random pause that lets the
   * concurrent writers spread out; after maxAttempts, 409.
   */
  async #mergeAndCompareAndSet(
    key: string,
    record: SessionRecord,
    expiresAt: number,
    now: number,
    context: SaveContext,
  ): Promise<boolean> {
    const read = readOf(this, record);
    let previous = read?.data;
    let next = record;
    let nextExpiry = expiresAt;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      if (previous === undefined) {
        const current = await this.#current(key, now);
        if (!current) return false;
        previous = current.data;
        next = mergeRecord(current.record, record, context.changes, read);
        nextExpiry = this.#expiryOf(next, record, expiresAt, now);
      }
      const row = new this.#rows({ sessionId: key, data: this.#encode(next, nextExpiry) });
      if (await this.#compareAndSet(row, previous, next, nextExpiry, now)) return true;
      previous = undefined;
      await sleep(Math.random() * Math.min(2 ** attempt, 50));
    }
    throw new SessionConflictError(
      `session changed by concurrent requests ${this.#maxAttempts} times while this request saved it; nothing was written, try again`,
    );
  }

  /**
   * A row class without compare-and-set: merge onto a row read right before writing. Lost updates are
   * then possible only within that read-to-write window, not across the whole request
   * (docs/database-store.md).
   */
  async #mergeOntoFreshRow(
    key: string,
    record: SessionRecord,
    expiresAt: number,
    now: number,
    context: SaveContext,
  ): Promise<boolean> {
    const row = await this.#call("read", () => this.#rows.findBySessionId(key));
    const current = this.#sealer.live(row?.data, now);
    if (!row || !current) return false;
    const next = mergeRecord(current.record, record, context.changes, readOf(this, record));
    const nextExpiry = this.#expiryOf(next, record, expiresAt, now);
    row.data = this.#encode(next, nextExpiry);
    await this.#write(row, next, nextExpiry, now);
    return true;
  }

  /** No SaveContext (a caller other than the middleware): the whole record replaces the row, or makes one. */
  async #replace(key: string, record: SessionRecord, expiresAt: number, now: number): Promise<void> {
    const data = this.#encode(record, expiresAt);
    const row =
      (await this.#call("read", () => this.#rows.findBySessionId(key))) ??
      new this.#rows({ sessionId: key, data });
    row.data = data;
    await this.#write(row, record, expiresAt, now);
  }

  /** The row as stored now, decoded; undefined when it is gone, unreadable or expired (all: not brought back). */
  async #current(key: string, now: number): Promise<{ data: string; record: SessionRecord } | undefined> {
    const row = await this.#call("read", () => this.#rows.findBySessionId(key));
    const live = this.#sealer.live(row?.data, now);
    return row && live ? { data: row.data, record: live.record } : undefined;
  }

  #expiryOf(merged: SessionRecord, mine: SessionRecord, expiresAt: number, now: number): number {
    const same =
      merged.maxAge === mine.maxAge && Boolean(merged.browserSession) === Boolean(mine.browserSession);
    return same || !this.#expiry ? expiresAt : this.#expiry(merged, now);
  }

  #compareAndSet(row: SessionRow, previous: string, record: SessionRecord, expiresAt: number, now: number) {
    this.#fill(row, record, expiresAt, now);
    return this.#call("write", () => row.saveIfUnchanged!(previous));
  }

  async #write(row: SessionRow, record: SessionRecord, expiresAt: number, now: number): Promise<void> {
    this.#fill(row, record, expiresAt, now);
    await this.#call("write", async () => row.save());
  }

  /** The columns beside data, on a row class that declares them. */
  #fill(row: SessionRow, record: SessionRecord, expiresAt: number, now: number): void {
    if ("userId" in row) {
      const userId = record.data.get(this.#userKey) ?? null;
      if (userId !== null && Buffer.byteLength(userId) > USER_ID_BYTES) {
        throw new SessionOverflowError(
          `session key ${JSON.stringify(this.#userKey)} holds ${Buffer.byteLength(userId)} bytes; the user_id column holds ${USER_ID_BYTES}`,
        );
      }
      row.userId = userId;
    }
    if ("expiresAt" in row) row.expiresAt = new Date(expiresAt);
    if ("updatedAt" in row) row.updatedAt = new Date(now);
  }

  /** The encoded record, checked against maxDataBytes before anything is written (never truncated). */
  #encode(record: SessionRecord, expiresAt: number): string {
    const data = this.#sealer.encode(record, expiresAt);
    const size = Buffer.byteLength(data);
    if (size > this.#maxDataBytes) {
      throw new SessionOverflowError(
        `session data is ${size} bytes encoded, over the database store's maxDataBytes (${this.#maxDataBytes}); ` +
          "nothing was written: store less in the session, or raise maxDataBytes (within what the column holds)",
      );
    }
    return data;
  }

  /** Row classes are user code too: any failure that is not already a SessionError is an outage (503). */
  async #call<T>(what: string, operation: () => T | Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof SessionError) throw error;
      throw new SessionStoreUnavailableError(
        `session store "database" failed to ${what}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
}
