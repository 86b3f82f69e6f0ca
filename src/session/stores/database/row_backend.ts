import { SessionOverflowError } from "../../errors.js";
import type { Backend, WriteOf } from "../backend.js";
import type { SessionRow, SessionRowClass } from "./session_row.js";

// The `database` table as a persistence under the one server-side core: rows read and written only through
// the row class (the built-in one, or an app's `sessionClass`). The data column is the version: every
// encoding carries a fresh IV, so "update where data is still what I read" is a compare-and-set with no
// version column. The columns beside data are filled from the record being written (fill), the one hook.

/** The user_id column's width. */
const USER_ID_BYTES = 255;

export class RowBackend implements Backend {
  readonly #rows: SessionRowClass;
  readonly #userKey: string;
  readonly #close: () => Promise<void>;

  constructor(rows: SessionRowClass, options: { userKey: string; close: () => Promise<void> }) {
    this.#rows = rows;
    this.#userKey = options.userKey;
    this.#close = options.close;
    // Capabilities the row class has, offered only then (the core asks once which a backend has).
    if (typeof rows.prototype.saveIfUnchanged === "function") {
      this.getVersioned = (key) =>
        this.get(key).then((data) => (data === undefined ? undefined : { value: data, version: data }));
      this.compareAndSet = (key, expected, next, _ttlMs, of) => {
        const row = this.#row(key, next, of);
        // Written: the data column is the version.
        return Promise.resolve(row.saveIfUnchanged!(expected)).then((ok) => ok && next);
      };
      if (typeof rows.destroyBySessionId === "function") this.compareAndMove = this.#move;
    }
  }

  // Declared as the Backend contract has them, assigned in the constructor when the row class can.
  getVersioned?: Backend["getVersioned"];
  compareAndSet?: Backend["compareAndSet"];
  compareAndMove?: Backend["compareAndMove"];

  /** One indexed query (by the session id column). */
  async get(key: string): Promise<string | undefined> {
    return (await this.#rows.findBySessionId(key))?.data ?? undefined;
  }

  /** A new key is a plain INSERT; otherwise the row found is updated, or made. */
  async set(key: string, value: string, _ttlMs: number, of?: WriteOf): Promise<void> {
    const found = of?.fresh ? undefined : await this.#rows.findBySessionId(key);
    const row = found ?? this.#row(key, value, of);
    if (found) {
      row.data = value;
      this.#fill(row, of);
    }
    await row.save();
  }

  async delete(key: string): Promise<boolean | undefined> {
    const rows = this.#rows;
    if (rows.destroyBySessionId) {
      const removed = await rows.destroyBySessionId(key);
      return typeof removed === "number" ? removed > 0 : undefined;
    }
    const row = await rows.findBySessionId(key);
    if (!row) return false;
    await row.destroy();
    return true;
  }

  close(): Promise<void> {
    return this.#close();
  }

  /**
   * cycleKey: the old row is deleted in one statement and only the request whose DELETE removed it
   * inserts the new one, so parallel cycles end on one id. The DELETE is by id alone (the row-class
   * contract has no guarded delete): a change another request made to the old row in between is not
   * merged into the new one.
   */
  #move = async (
    from: string,
    _expected: string,
    to: string,
    next: string,
    _ttlMs: number,
    of?: WriteOf,
  ): Promise<boolean> => {
    if ((await this.#rows.destroyBySessionId!(from)) !== 1) return false;
    await this.#row(to, next, of).save();
    return true;
  };

  #row(key: string, data: string, of: WriteOf | undefined): SessionRow {
    const row = new this.#rows({ sessionId: key, data });
    this.#fill(row, of);
    return row;
  }

  /** The columns beside data, on a row class that declares them (a class field, even `= undefined`). */
  #fill(row: SessionRow, of: WriteOf | undefined): void {
    if (of === undefined) return;
    if ("userId" in row) {
      const userId = of.record.data.get(this.#userKey) ?? null;
      if (userId !== null && Buffer.byteLength(userId) > USER_ID_BYTES) {
        throw new SessionOverflowError(
          `session key ${JSON.stringify(this.#userKey)} holds ${Buffer.byteLength(userId)} bytes; the user_id column holds ${USER_ID_BYTES}`,
        );
      }
      row.userId = userId;
    }
    if ("expiresAt" in row) row.expiresAt = new Date(of.expiresAt);
    if ("updatedAt" in row) row.updatedAt = new Date(of.now);
  }
}
