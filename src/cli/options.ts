import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./cli_error.js";

/** What parseArgs takes for one option (node:util does not export its name). */
type ParseArgsOption = NonNullable<ParseArgsConfig["options"]>[string];

/** One option of a command: what parseArgs needs, plus what the help text shows. */
export interface OptionSpec extends ParseArgsOption {
  /** One clause for the help text. */
  description: string;
  /** The placeholder of a string option's value in the help text ("N", "FILE"). */
  value?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** What parsing gives for each declared option: a string, a boolean, or undefined when not given. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K] extends { type: "boolean" } ? boolean : string;
};

export interface ParsedArgs<O extends OptionSpecs> {
  values: OptionValues<O>;
  positionals: string[];
}

/** `-h, --help`, which every command takes (main.ts answers it before the command runs). */
export const HELP_OPTION = { type: "boolean", short: "h", description: "print this help" } as const;

/**
 * Parses a command's arguments against its declared options (strict), so the help text and the parser
 * read one declaration. Every mistake becomes a one-line UsageError (exit 2).
 */
export function parseOptions<O extends OptionSpecs>(
  args: string[],
  options: O,
  positionals: { min: number; max: number } = { min: 0, max: 0 },
): ParsedArgs<O> {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: HELP_OPTION },
      strict: true,
      allowPositionals: positionals.max > 0,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof TypeError && code?.startsWith("ERR_PARSE_ARGS_"))
      throw new UsageError(describe(err, code));
    throw err;
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw new UsageError("missing an argument (see --help)");
  if (count > positionals.max) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals.max])}`);
  }
  return { values: parsed.values as OptionValues<O>, positionals: parsed.positionals };
}

/** parseArgs's message, shortened where it explains more than a CLI user needs. */
function describe(err: Error, code: string): string {
  const option = /'([^']+)'/.exec(err.message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) return `unknown option ${option}`;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && option) {
    return `unexpected argument ${JSON.stringify(option)}`;
  }
  return err.message.split("\n")[0]!.trim(); // the CLI promises one line
}
