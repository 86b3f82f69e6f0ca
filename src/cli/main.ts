import { SessionError } from "../session/errors.js";
import { CliError, UsageError } from "./cli_error.js";
import type { Command } from "./command.js";
import * as newProject from "./commands/new.js";
import * as routes from "./commands/routes.js";
import * as secret from "./commands/secret.js";
import * as server from "./commands/server.js";
import * as sessionsExpire from "./commands/sessions/expire.js";
import * as sessionsInstall from "./commands/sessions/install.js";
import * as sessionsList from "./commands/sessions/list.js";
import * as sessionsRevoke from "./commands/sessions/revoke.js";
import { commandUsage, overview } from "./usage.js";
import { stoatVersion } from "./version.js";

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

const out = (line: string) => console.log(line);
const fail = (message: string, exitCode: number) => {
  console.error(message);
  process.exitCode = exitCode;
};
/**
 * Reports an expected failure and exits now: an app that failed half-way through opening (a store client
 * still retrying its connection) must not keep the process alive, nor add a second report of the same cause.
 */
const failNow = (message: string, exitCode: number): never => {
  fail(message, exitCode);
  process.exit(exitCode);
};

/** Whether the arguments ask for help (before a `--`, after which everything is a value). */
const asksHelp = (args: string[]) => {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
};

const [name, ...args] = process.argv.slice(2);

if (name === undefined || name === "--help" || name === "-h") {
  out(overview(commands));
} else if (name === "--version" || name === "-v" || name === "version") {
  out(stoatVersion());
} else if (name === "help") {
  const topic = args[0];
  if (topic === undefined) out(overview(commands));
  else if (Object.hasOwn(commands, topic)) out(commandUsage(topic, commands[topic]!));
  else fail(`stoat help: unknown command ${JSON.stringify(topic)}\n\n${overview(commands)}`, 2);
} else if (!Object.hasOwn(commands, name)) {
  fail(`stoat: unknown command ${JSON.stringify(name)}\n\n${overview(commands)}`, 2);
} else if (asksHelp(args)) {
  out(commandUsage(name, commands[name]!));
} else {
  try {
    await commands[name]!.run(args, out);
  } catch (err) {
    // What the user can fix gets one line; anything else keeps its stack.
    if (err instanceof UsageError) failNow(`stoat ${name}: ${err.message} (stoat ${name} --help)`, 2);
    else if (err instanceof CliError) failNow(`stoat ${name}: ${err.message}`, err.exitCode);
    else if (err instanceof SessionError) failNow(`stoat ${name}: ${err.message}`, 1);
    else if (
      err instanceof TypeError &&
      String((err as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS_")
    ) {
      failNow(`stoat ${name}: ${err.message.split("\n")[0]} (stoat ${name} --help)`, 2); // a command still on bare parseArgs
    } else throw err;
  }
}
