import type { OptionSpecs } from "./options.js";

/** Where a command writes its normal output, one line at a time. */
export type Out = (line: string) => void;

/**
 * What a module under commands/ exports. `options` is the one declaration both the help text and the
 * command's own parseOptions() call read.
 */
export interface Command {
  /** One line for `stoat help`. */
  summary: string;
  /** The arguments after the command's name in the usage line, e.g. "<dir>". */
  synopsis?: string;
  /** More lines for `stoat help <command>`, under the usage line. */
  details?: readonly string[];
  options?: OptionSpecs;
  run(args: string[], out: Out): Promise<void>;
}
