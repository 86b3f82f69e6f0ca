import type { Out } from "../../command.js";
import { parseOptions } from "../../options.js";
import { APP_OPTION, withSessions } from "./common.js";

export const summary = "create the database store's table and indexes (idempotent)";

export const options = { app: APP_OPTION } as const;

export async function run(args: string[], out: Out): Promise<void> {
  const { values } = parseOptions(args, options);
  const lines = await withSessions(values.app, (sessions) => sessions.install());
  for (const line of lines) out(line);
}
