import { count, parseFlags, requireUser, withSessions } from "./common.js";

export const summary = "end every session of a user --user ID";

export async function run(args: string[], out: (line: string) => void): Promise<void> {
  const user = requireUser(parseFlags(args, { user: { type: "string", short: "u" } }).user);
  const revoked = await withSessions((admin) => admin.revokeAllForUser(user));
  out(`Revoked ${count(revoked, "session")} for user ${user}`);
}
