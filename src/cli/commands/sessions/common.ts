import { type ParseArgsConfig, parseArgs } from "node:util";
import type { SessionsAdmin } from "../../../session/stores/database/sessions_admin.js";
import { CliError } from "../../cli_error.js";
import { loadApp } from "../../load_app.js";

type FlagsConfig<T> = { args: string[]; options: T; strict: true; allowPositionals: false };
/** What parseFlags returns, named so the build can emit its declaration. */
export type Flags<T extends NonNullable<ParseArgsConfig["options"]>> = ReturnType<
  typeof parseArgs<FlagsConfig<T>>
>["values"];

/** `parseArgs` (strict, no positionals) with every mistake reported as a one-line usage error (exit 2). */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
): Flags<T> {
  try {
    return parseArgs<FlagsConfig<T>>({
      args,
      options,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof TypeError && code?.startsWith("ERR_PARSE_ARGS_")) throw new CliError(err.message, 2);
    throw err;
  }
}

/** The `--user ID` every per-user command needs. */
export function requireUser(user: string | undefined): string {
  if (user === undefined || user.trim() === "") throw new CliError("--user ID is required", 2);
  return user;
}

/**
 * Loads the project's app, hands its `app.sessions` to `task` and closes the app afterwards (failed or
 * not), so the store's connections do not keep the process alive.
 */
export async function withSessions<T>(task: (sessions: SessionsAdmin) => Promise<T>): Promise<T> {
  const app = await loadApp(process.cwd());
  let result: T;
  try {
    result = await task(app.sessions);
  } catch (err) {
    await app.close().catch(() => {}); // the task's error is the one to report
    throw err;
  }
  await app.close();
  return result;
}

/** "1 expired session", "2 expired sessions". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
