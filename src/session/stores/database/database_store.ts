import type { SessionRecord } from "../../record.js";
import type { RecordSealerOptions } from "../../sealing/record_sealer.js";
import type { Backend } from "../backend.js";
import { ServerStore } from "../server_store.js";
import type { SessionsAdmin } from "../sessions_admin.js";
import { RowBackend } from "./row_backend.js";
import type { SessionRowClass } from "./session_row.js";

// The `database` store: the one server-side core (server_store.ts) over a real table, one row per session
// (table_backend.ts on the driver for the built-in table, row_backend.ts over an app's row class). Like every server-side store it keeps only the hashed id and an encoded, by default
// encrypted, record that carries its own expiry; what the table adds is a user_id column, so a user's
// sessions can be listed and revoked (admin.ts), and a size bound on the data column.

export interface DatabaseStoreOptions extends RecordSealerOptions {
  /** The built-in table on its driver (TableBackend); or else `rows`. */
  backend?: Backend;
  /** A row class (`sessionClass`), read and written through its contract. */
  rows?: SessionRowClass;
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

export function databaseStore(options: DatabaseStoreOptions): ServerStore {
  const { rows } = options;
  const backend =
    options.backend ??
    new RowBackend(rows!, {
      userKey: options.userKey ?? "user_id",
      close: options.close ?? (async () => {}),
    });
  return new ServerStore("database", backend, {
    ...options,
    limit: {
      bytes: options.maxDataBytes ?? 65535,
      option: "maxDataBytes",
      hint: " (within what the column holds)",
    },
    // A move needs a delete that says whether it removed the row, and compare-and-set for the rest: the
    // table backend and the built-in row class have both; without them the middleware destroys the old row first.
    movesOnCycle:
      rows === undefined ||
      (typeof rows.prototype.saveIfUnchanged === "function" && typeof rows.destroyBySessionId === "function"),
  });
}
