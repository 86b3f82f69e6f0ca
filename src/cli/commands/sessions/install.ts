import { parseFlags, withSessions } from "./common.js";

export const summary = "create the database store's table and indexes (idempotent)";

export async function run(args: string[], out: (line: string) => void): Promise<void> {
  parseFlags(args, {});
  const lines = await withSessions((sessions) => sessions.install());
  for (const line of lines) out(line);
}
