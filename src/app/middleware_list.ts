import { ConfigError } from "../session/errors.js";
import type { MiddlewareEntry } from "./config.js";

/** The built-in middleware names, and what each needs before it in the list. */
const NEEDS: Readonly<Record<string, string | undefined>> = {
  bodyParser: undefined,
  session: undefined,
  // Both live in the session: the flash keeps its messages there, csrf the secret its tokens are masked from.
  csrf: "session",
  flash: "session",
};

/** Checks `config.middleware` at boot; returns the built-in names it lists, in order. */
export function checkMiddleware(entries: readonly MiddlewareEntry[]): string[] {
  const names: string[] = [];
  const builtIn = Object.keys(NEEDS);
  for (const [i, entry] of entries.entries()) {
    if (typeof entry === "function") continue;
    if (!builtIn.includes(entry)) {
      throw new ConfigError(
        `config.middleware[${i}] ${JSON.stringify(entry)} is not a built-in middleware (${builtIn.join(", ")}) or a function`,
      );
    }
    if (names.includes(entry))
      throw new ConfigError(`config.middleware lists ${JSON.stringify(entry)} twice`);
    names.push(entry);
  }
  for (const name of names) {
    const needed = NEEDS[name];
    if (needed === undefined) continue;
    if (!names.includes(needed)) {
      throw new ConfigError(
        `config.middleware: "${name}" needs "${needed}"; remove "${name}" too, or keep "${needed}"`,
      );
    }
    if (names.indexOf(name) < names.indexOf(needed)) {
      throw new ConfigError(
        `config.middleware: "${name}" keeps its data in the session, so it must come after "${needed}"`,
      );
    }
  }
  return names;
}
