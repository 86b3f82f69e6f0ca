import { SessionError } from "../session/errors.js";
import { CliError } from "./cli_error.js";
import * as newProject from "./commands/new.js";
import * as routes from "./commands/routes.js";
import * as secret from "./commands/secret.js";
import * as server from "./commands/server.js";
import * as sessionsExpire from "./commands/sessions/expire.js";
import * as sessionsInstall from "./commands/sessions/install.js";
import * as sessionsList from "./commands/sessions/list.js";
import * as sessionsRevoke from "./commands/sessions/revoke.js";

interface Command {
  summary: string;
  run(args: string[], out: (line: string) => void): Promise<void>;
}

const commands: Record<string, Command> = {
  new: newProject,
  secret,
  server,
  routes,
  "sessions:install": sessionsInstall,
  "sessions:expire": sessionsExpire,
  "sessions:list": sessionsList,
  "sessions:revoke": sessionsRevoke,
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    "Usage: stoat <command> [options]",
    "",
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join("\n");
}

const [name, ...args] = process.argv.slice(2);
const out = (line: string) => console.log(line);

if (name === undefined || name === "help" || name === "--help" || name === "-h") {
  out(usage());
} else if (!Object.hasOwn(commands, name)) {
  console.error(`stoat: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
  process.exitCode = 2;
} else {
  try {
    await commands[name]!.run(args, out);
  } catch (err) {
    // Expected problems get one line; anything else keeps its stack.
    if (err instanceof CliError || err instanceof SessionError) {
      console.error(`stoat ${name}: ${err.message}`);
      process.exitCode = err instanceof CliError ? err.exitCode : 1;
    } else if (
      err instanceof TypeError &&
      String((err as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS_")
    ) {
      // node:util parseArgs: an unknown option, a missing value or a stray argument is a usage error.
      console.error(`stoat ${name}: ${err.message}`);
      process.exitCode = 2;
    } else {
      throw err;
    }
  }
}
