import type { Command } from "./command.js";
import { HELP_OPTION, type OptionSpec } from "./options.js";

/** `stoat help`: every command with its one-line summary. */
export function overview(commands: Record<string, Command>): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    "Usage: stoat <command> [options]",
    "",
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    "",
    "`stoat help <command>` or `stoat <command> --help` for a command's options; `stoat --version`.",
  ].join("\n");
}

/** `stoat help <command>`: its usage line, what it does, and every option it takes. */
export function commandUsage(name: string, command: Command): string {
  const options: [string, OptionSpec][] = [...Object.entries(command.options ?? {}), ["help", HELP_OPTION]];
  const flags = options.map(([long, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : "    ";
    const value = spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : "";
    return `${short}--${long}${value}`;
  });
  const width = Math.max(...flags.map((flag) => flag.length));
  return [
    `Usage: stoat ${name}${command.synopsis ? ` ${command.synopsis}` : ""} [options]`,
    "",
    command.summary,
    ...(command.details ?? []),
    "",
    "Options:",
    ...options.map(([, spec], i) => `  ${flags[i]!.padEnd(width)}  ${spec.description}`),
  ].join("\n");
}
