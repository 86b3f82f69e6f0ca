import type { Database } from "./connection.js";
import type { TableLayout } from "./table.js";

// One row of the sessions table, as activerecord-session_store's `session_class` contract has it: a class
// with static findBySessionId(id), a constructor taking { sessionId, data }, and save()/destroy(). With
// `sessionClass` the store talks to rows only through this contract (without, the built-in table runs on
// its driver: table_backend.ts). The class below follows the contract over Knex, with the two optional
// capabilities the store uses when a class has them: saveIfUnchanged(previousData), a compare-and-set that
// makes concurrent writes safe, and a static destroyBySessionId(id), a delete in one statement. The specs
// run the row-class path on it.

export interface SessionRowAttributes {
  /** The hashed id (`2::` + 64 hex), never the id in the cookie. */
  sessionId: string;
  /** The encoded (by default encrypted) session: the `data` column. */
  data: string;
}

export interface SessionRow {
  sessionId: string;
  data: string;
  /**
   * Set by the store before save() when the class declares these properties (a class field, even
   * `= undefined`): the value of the session's `userKey`, the expiry and the time of this write.
   */
  userId?: string | null;
  expiresAt?: Date;
  updatedAt?: Date;
  /** Inserts a new row, or updates the row it was found as. */
  save(): unknown;
  destroy(): unknown;
  /** Optional: writes only if the stored data is still `previousData`; false when it changed or is gone. */
  saveIfUnchanged?(previousData: string): Promise<boolean>;
}

export interface SessionRowClass {
  new (attributes: SessionRowAttributes): SessionRow;
  /** The row stored under the hashed id, or null/undefined. */
  findBySessionId(sessionId: string): SessionRow | null | undefined | Promise<SessionRow | null | undefined>;
  /** Optional: deletes the row in one statement. */
  destroyBySessionId?(sessionId: string): Promise<unknown>;
}

/** The built-in row class, bound to one database and table layout. */
export function defineSessionRow(db: Database, layout: TableLayout): SessionRowClass {
  const table = () => db.knex(layout.table);
  const bySessionId = (sessionId: string) => table().where(layout.sessionId, sessionId);

  return class DatabaseSessionRow implements SessionRow {
    sessionId: string;
    data: string;
    userId: string | null = null;
    expiresAt: Date | undefined = undefined;
    updatedAt: Date | undefined = undefined;
    /** Found in the table (save() updates) rather than built by the store (save() inserts). */
    #persisted = false;

    /** One indexed query: the data column of the row with that session id. */
    static async findBySessionId(sessionId: string): Promise<DatabaseSessionRow | undefined> {
      const found = await db.run<Record<string, unknown> | undefined>(
        bySessionId(sessionId).first(layout.data),
        "read",
      );
      if (found === undefined) return undefined;
      const row = new DatabaseSessionRow({ sessionId, data: String(found[layout.data]) });
      row.#persisted = true;
      return row;
    }

    static async destroyBySessionId(sessionId: string): Promise<number> {
      return db.run<number>(bySessionId(sessionId).delete(), "delete");
    }

    constructor({ sessionId, data }: SessionRowAttributes) {
      this.sessionId = sessionId;
      this.data = data;
    }

    async save(): Promise<void> {
      const now = this.updatedAt ?? new Date();
      if (this.#persisted) {
        await db.run(bySessionId(this.sessionId).update(this.#changedColumns(now)), "write");
      } else {
        await db.run(
          table().insert({
            [layout.sessionId]: this.sessionId,
            ...this.#changedColumns(now),
            [layout.createdAt]: db.toTime(now.getTime()),
          }),
          "write",
        );
        this.#persisted = true;
      }
    }

    /**
     * UPDATE ... WHERE session_id = ? AND data = ?: the previous data is an exact version (every encoding
     * has a fresh IV), so no version column is needed and legacy tables work as they are. MySQL compares
     * bytes: a case-insensitive collation must not take a changed value for the old one.
     */
    async saveIfUnchanged(previousData: string): Promise<boolean> {
      const query = bySessionId(this.sessionId);
      if (db.dialect === "mysql")
        query.whereRaw("CAST(?? AS BINARY) = CAST(? AS BINARY)", [layout.data, previousData]);
      else query.where(layout.data, previousData);
      const updated = await db.run<number>(
        query.update(this.#changedColumns(this.updatedAt ?? new Date())),
        "write",
      );
      if (updated === 1) this.#persisted = true;
      return updated === 1;
    }

    async destroy(): Promise<void> {
      await DatabaseSessionRow.destroyBySessionId(this.sessionId);
    }

    #changedColumns(now: Date): Record<string, unknown> {
      const columns: Record<string, unknown> = {
        [layout.data]: this.data,
        [layout.userId]: this.userId ?? null,
        [layout.updatedAt]: db.toTime(now.getTime()),
      };
      if (this.expiresAt) columns[layout.expiresAt] = db.toTime(this.expiresAt.getTime());
      return columns;
    }
  };
}
