import type { Out } from "../../command.js";
import { parseOptions } from "../../options.js";
import { APP_OPTION, count, requireUser, USER_OPTION, withSessions } from "./common.js";

export const summary = "end every session of a user (--user ID)";

export const options = { user: USER_OPTION, app: APP_OPTION } as const;

export async function run(args: string[], out: Out): Promise<void> {
  const { values } = parseOptions(args, options);
  const user = requireUser(values.user);
  const revoked = await withSessions(values.app, (admin) => admin.revokeAllForUser(user));
  out(`Revoked ${count(revoked, "session")} for user ${user}`);
}
