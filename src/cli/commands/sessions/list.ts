import type { Out } from "../../command.js";
import { parseOptions } from "../../options.js";
import { APP_OPTION, count, requireUser, USER_OPTION, withSessions } from "./common.js";

export const summary = "list a user's sessions (--user ID)";

export const options = { user: USER_OPTION, app: APP_OPTION } as const;

/** The hashed id ("2::" + 64 hex) cut to "2::" + 12 hex: enough to tell sessions apart, not to use one. */
const short = (sid: string) => sid.slice(0, 15);
/** UTC to the second: 2026-01-01 12:00:00Z. */
const time = (date: Date) => `${date.toISOString().slice(0, 19).replace("T", " ")}Z`;

export async function run(args: string[], out: Out): Promise<void> {
  const { values } = parseOptions(args, options);
  const user = requireUser(values.user);
  const sessions = await withSessions(values.app, (admin) => admin.listForUser(user));
  if (sessions.length === 0) {
    out(`No sessions for user ${user}`);
    return;
  }
  const rows = [
    ["Session", "Created", "Last active", "Expires"],
    ...sessions.map((s) => [short(s.sid), time(s.createdAt), time(s.updatedAt), time(s.expiresAt)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    out(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
  out(`${count(sessions.length, "session")} for user ${user}`);
}
