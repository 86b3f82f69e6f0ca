import { existsSync } from "node:fs";
import { extname, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { Application } from "../app/application.js";
import { SessionError } from "../session/errors.js";
import { AppLoadError } from "./cli_error.js";
import type { OptionSpec } from "./options.js";
import { enableTypeScript } from "./typescript_loader.js";

export const DEFAULT_APP = "config/application.ts";

/** `--app FILE`, for every command that loads the application. */
export const APP_OPTION = {
  type: "string",
  value: "FILE",
  description: `the application module (default ${DEFAULT_APP}; a .js file runs without tsx)`,
} as const satisfies OptionSpec;

const TYPESCRIPT = new Set([".ts", ".mts", ".cts"]);

/**
 * Imports the application module (`file`, relative to the project in `root`), waits until its session
 * store is ready and returns its Application. What a user can fix fails as one line: a missing file, no
 * TypeScript loader, a module that throws or imports something missing.
 */
export async function loadApp(root: string, file = DEFAULT_APP): Promise<Application> {
  const path = resolve(root, file);
  const shown = relative(root, path) || file;
  if (!existsSync(path)) {
    throw new AppLoadError(
      file === DEFAULT_APP
        ? `no ${DEFAULT_APP} in ${root}: run this inside a Stoat project, or pass --app FILE`
        : `no application module ${shown} in ${root} (--app)`,
    );
  }
  const typescript = TYPESCRIPT.has(extname(path));
  const loader = typescript && (await enableTypeScript(root));
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typescript && !loader && code === "ERR_UNKNOWN_FILE_EXTENSION") {
      throw new AppLoadError(
        `${shown} is TypeScript and this project has no tsx to load it: npm install -D tsx, ` +
          "or build it and pass the JavaScript (--app dist/config/application.js)",
      );
    }
    if (err instanceof SessionError) throw err; // a ConfigError from Application.configure says it all
    const pkg =
      code === "ERR_MODULE_NOT_FOUND" && /^Cannot find package '([^']+)'/.exec((err as Error).message)?.[1];
    const fix = pkg ? `: npm install ${pkg}` : "";
    throw new AppLoadError(`could not load ${shown}: ${oneLine(err)}${origin(err, root)}${fix}`, 1, {
      cause: err,
    });
  }
  const app = module.default;
  if (!(app instanceof Application)) {
    const name = (app as { constructor?: { name?: string } } | undefined)?.constructor?.name;
    throw new AppLoadError(
      name === "Application"
        ? `${shown} uses another copy of stoat than this command: run the project's own (npx stoat)`
        : `${shown} must \`export default Application.configure(...)\``,
    );
  }
  await app.ready();
  return app;
}

/** "TypeError: x is not a function", its lines joined: a compiler's message spans several. */
function oneLine(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const message = err.message
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .join(" ");
  return `${err.name}: ${message}`;
}

/** " (at config/routes.ts:3:9)": the first place in the project's own code the error came from. */
function origin(err: unknown, root: string): string {
  const stack = err instanceof Error ? (err.stack ?? "") : "";
  for (const match of stack.matchAll(/\(?(?:file:\/\/)?(\/[^\s()]+):(\d+):(\d+)\)?$/gm)) {
    const file = match[1]!;
    if (!file.startsWith(root + sep) || file.includes(`${sep}node_modules${sep}`)) continue;
    return ` (at ${relative(root, file)}:${match[2]}:${match[3]})`;
  }
  return "";
}
