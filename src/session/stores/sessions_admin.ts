/**
 * What `app.sessions` offers with the `database` store: the queries and chores that need a real table.
 * The CLI's `stoat sessions:*` commands are thin wrappers around it.
 */
export interface SessionInfo {
  /** The hashed id (`2::` + 64 hex), never the public id. */
  sid: string;
  userId: string | null;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

export interface ExpireOptions {
  /** Rows deleted per statement (default 1000), so a large table is never locked for long. */
  batchSize?: number;
  /** Count what would be deleted, delete nothing. */
  dryRun?: boolean;
  /** ms since the epoch; default the app's clock. */
  now?: number;
  /** Called after each batch with the running count and the total found at the start. */
  onProgress?: (done: number, total: number) => void;
}

export interface SessionsAdmin {
  /** Creates the table and its indexes when missing (idempotent); returns one line per thing it did or found. */
  install(): Promise<string[]>;
  /** Deletes rows past their idle or absolute expiry; returns how many (would be) deleted. */
  expire(options?: ExpireOptions): Promise<number>;
  /** The user's live sessions, most recently active first. */
  listForUser(userId: string): Promise<SessionInfo[]>;
  /**
   * Ends every session of the user, except the one whose public id is `except` ("log out my other
   * devices": pass `this.session.id`). Returns how many were ended.
   */
  revokeAllForUser(userId: string, options?: { except?: string }): Promise<number>;
}
