import { channels } from "../../events.js";
import { isWellFormedId, privateId } from "../../ids.js";
import type { ExpireOptions, SessionInfo, SessionsAdmin } from "../sessions_admin.js";
import type { Database } from "./connection.js";
import { installTable } from "./schema.js";
import type { TableLayout } from "./table.js";

// `app.sessions` for the `database` store: the chores and queries that need a real table, straight on the
// table with Knex (not through the row class: they work on many rows at once). The CLI's sessions:*
// commands call these.

export interface DatabaseAdminOptions {
  /** The database, opened on first use when the store itself does not need it (a custom sessionClass). */
  database: () => Promise<Database>;
  layout: TableLayout;
  /** ms since the epoch; Date.now unless a spec injects its clock. */
  now?: () => number;
}

const DEFAULT_BATCH = 1000;
/** Ids per DELETE ... IN (...) when revoking (well under every driver's bound-parameter limit). */
const IDS_PER_STATEMENT = 500;

export class DatabaseAdmin implements SessionsAdmin {
  readonly #database: () => Promise<Database>;
  readonly #layout: TableLayout;
  readonly #now: () => number;

  constructor(options: DatabaseAdminOptions) {
    this.#database = options.database;
    this.#layout = options.layout;
    this.#now = options.now ?? Date.now;
  }

  async install(): Promise<string[]> {
    return installTable(await this.#database(), this.#layout);
  }

  /**
   * Deletes rows whose expires_at has passed (expires_at is the idle expiry capped by absoluteTimeout), a
   * batch per statement so a big table is never locked for long. Rows with no expires_at (written before
   * install added the column) are left alone.
   */
  async expire(options: ExpireOptions = {}): Promise<number> {
    const db = await this.#database();
    const { knex } = db;
    const layout = this.#layout;
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH));
    const cutoff = db.toTime(options.now ?? this.#now());
    const expired = () => knex(layout.table).where(layout.expiresAt, "<=", cutoff);
    const counted = await db.run<{ n: number | string }[]>(
      expired().count({ n: "*" }),
      "count expired sessions",
    );
    const total = Number(counted[0]?.n ?? 0);
    if (options.dryRun || total === 0) {
      options.onProgress?.(0, total);
      return total;
    }
    const key = layout.numericKey ? layout.primaryKey : layout.sessionId;
    let done = 0;
    for (;;) {
      // MySQL cannot LIMIT a subquery inside IN, but can LIMIT a DELETE; the others the other way round.
      const statement =
        db.dialect === "mysql"
          ? expired().limit(batchSize).delete()
          : knex(layout.table)
              .whereIn(key, expired().select(key).limit(batchSize))
              .where(layout.expiresAt, "<=", cutoff)
              .delete();
      const deleted = await db.run<number>(statement, "delete expired sessions");
      done += deleted;
      if (deleted > 0) options.onProgress?.(done, Math.max(total, done));
      if (deleted < batchSize) break;
    }
    return done;
  }

  async listForUser(userId: string): Promise<SessionInfo[]> {
    const db = await this.#database();
    const layout = this.#layout;
    const rows = await db.run<Record<string, unknown>[]>(
      db
        .knex(layout.table)
        .select(layout.sessionId, layout.userId, layout.createdAt, layout.updatedAt, layout.expiresAt)
        .where(layout.userId, String(userId))
        .where(layout.expiresAt, ">", db.toTime(this.#now()))
        .orderBy(layout.updatedAt, "desc"),
      "list sessions",
    );
    return rows.map((row) => ({
      sid: String(row[layout.sessionId]),
      userId: row[layout.userId] === null ? null : String(row[layout.userId]),
      createdAt: db.fromTime(row[layout.createdAt]) ?? new Date(Number.NaN),
      updatedAt: db.fromTime(row[layout.updatedAt]) ?? new Date(Number.NaN),
      expiresAt: db.fromTime(row[layout.expiresAt]) ?? new Date(Number.NaN),
    }));
  }

  /** Deletes the user's rows but the one `except` (a public id) names; publishes a delete for each. */
  async revokeAllForUser(userId: string, options: { except?: string } = {}): Promise<number> {
    const { except } = options;
    if (except !== undefined && !isWellFormedId(except)) {
      throw new TypeError("revokeAllForUser: `except` must be a session id (this.session.id)");
    }
    const db = await this.#database();
    const layout = this.#layout;
    const ofUser = () => {
      const query = db.knex(layout.table).where(layout.userId, String(userId));
      if (except !== undefined) query.whereNot(layout.sessionId, privateId(except));
      return query;
    };
    const rows = await db.run<Record<string, unknown>[]>(ofUser().select(layout.sessionId), "list sessions");
    const sids = rows.map((row) => String(row[layout.sessionId]));
    let revoked = 0;
    for (let i = 0; i < sids.length; i += IDS_PER_STATEMENT) {
      const chunk = sids.slice(i, i + IDS_PER_STATEMENT);
      revoked += await db.run<number>(ofUser().whereIn(layout.sessionId, chunk).delete(), "revoke sessions");
    }
    if (channels.delete.hasSubscribers) {
      for (const sid of sids) channels.delete.publish({ sid, store: "database" });
    }
    return revoked;
  }
}
