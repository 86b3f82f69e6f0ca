import { generateSecret } from "../../app/secrets.js";
import type { Out } from "../command.js";
import { parseOptions } from "../options.js";

export const summary = "print a new random secret (64 bytes, hex) for SECRET_KEY_BASE";

export const options = {} as const;

export async function run(args: string[], out: Out): Promise<void> {
  parseOptions(args, options);
  out(generateSecret());
}
