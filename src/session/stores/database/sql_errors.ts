import {
  ConfigError,
  SessionError,
  SessionOverflowError,
  SessionStoreUnavailableError,
} from "../../errors.js";
import type { Dialect } from "./dialect.js";

// What a failed SQL call means for a session store. A schema problem (no table, a column the options name
// that the table lacks) will not fix itself: a ConfigError telling what to run. A value too long for its
// column (a legacy column narrower than maxDataBytes): an overflow, never a truncation. Everything else (a
// refused connection, a timeout, a lost connection, a deadlock) is an outage: 503, retried by the client.

const INSTALL_HINT = "create it with `npx stoat sessions:install` (or `await app.sessions.install()`)";

interface FailureContext {
  what: string;
  table: string;
  dialect: Dialect;
}

type DriverError = Error & { code?: string; errno?: number };

export function describeFailure(error: unknown, context: FailureContext): Error {
  if (error instanceof SessionError) return error;
  const err = (error instanceof Error ? error : new Error(String(error))) as DriverError;
  const message = driverMessage(err);
  const kind = classify(err, message);
  const store = `session store "database" (${context.dialect})`;
  if (kind === "no-table") {
    return new ConfigError(`${store}: the table "${context.table}" does not exist; ${INSTALL_HINT}`, {
      cause: error,
    });
  }
  if (kind === "no-column") {
    return new ConfigError(
      `${store}: the table "${context.table}" lacks a column Stoat uses (${message}); check the options ` +
        "sessionIdColumn, dataColumn and primaryKey, or add the missing columns with `npx stoat sessions:install`",
      { cause: error },
    );
  }
  if (kind === "too-long") {
    return new SessionOverflowError(
      `${store}: the session does not fit its column in "${context.table}" (${message}); nothing was written. ` +
        "Lower maxDataBytes to what the column holds, or widen the column",
      { cause: error },
    );
  }
  return new SessionStoreUnavailableError(`${store} failed to ${context.what}: ${message}`, { cause: error });
}

function classify(err: DriverError, message: string): "no-table" | "no-column" | "too-long" | undefined {
  const code = err.code;
  if (code === "42P01" || code === "ER_NO_SUCH_TABLE" || /\bno such table\b/i.test(message))
    return "no-table";
  if (
    code === "42703" ||
    code === "ER_BAD_FIELD_ERROR" ||
    /\bno such column\b|\bhas no column named\b/i.test(message)
  ) {
    return "no-column";
  }
  if (code === "ER_DATA_TOO_LONG" || code === "22001") return "too-long";
  return undefined;
}

/**
 * The driver's own words. Knex prefixes them with the SQL (placeholders only: compileSqlOnError is off)
 * and " - "; identifiers cannot contain " - " (the option rules), so the first one ends the SQL.
 */
function driverMessage(err: DriverError): string {
  const message = err.message || err.name || String(err.code);
  const cut = /^(select|insert|update|delete|create|alter|drop|pragma|show|with)\b[\s\S]*? - /i.exec(message);
  return cut ? message.slice(cut[0].length) : message;
}
