import type { SessionsAdmin } from "../../../session/stores/sessions_admin.js";
import { UsageError } from "../../cli_error.js";
import { APP_OPTION, DEFAULT_APP, loadApp } from "../../load_app.js";

/** `--user ID`, which the per-user commands need. */
export const USER_OPTION = { type: "string", short: "u", value: "ID", description: "the user's id" } as const;

/** `--app FILE`: every sessions command loads the application for its store. */
export { APP_OPTION };

/** The `--user ID` every per-user command needs. */
export function requireUser(user: string | undefined): string {
  if (user === undefined || user.trim() === "") throw new UsageError("--user ID is required");
  return user;
}

/**
 * Loads the project's app (`app`, default config/application.ts), hands its `app.sessions` to `task` and
 * closes the app afterwards (failed or not), so the store's connections do not keep the process alive.
 */
export async function withSessions<T>(
  app: string | undefined,
  task: (sessions: SessionsAdmin) => Promise<T>,
): Promise<T> {
  const loaded = await loadApp(process.cwd(), app ?? DEFAULT_APP);
  let result: T;
  try {
    result = await task(loaded.sessions);
  } catch (err) {
    await loaded.close().catch(() => {}); // the task's error is the one to report
    throw err;
  }
  await loaded.close();
  return result;
}

/** "1 expired session", "2 expired sessions". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
