import { createRequire } from "node:module";
import type { Keyv } from "keyv";
import { ConfigError } from "../../errors.js";

// Lazy imports of the optional adapter packages, with errors a user can act on when one is missing.

/**
 * The package an ERR_MODULE_NOT_FOUND (ESM) or MODULE_NOT_FOUND (CommonJS) error says is missing, or
 * undefined for any other error (including a missing file inside an installed package).
 */
export function missingPackage(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ERR_MODULE_NOT_FOUND") return /^Cannot find package '([^']+)'/.exec(error.message)?.[1];
  if (code === "MODULE_NOT_FOUND") {
    const name = /^Cannot find module '([^']+)'/.exec(error.message)?.[1];
    // A bare specifier names a package; a path ('./x', '/x') is a file missing inside one.
    return name && !/^[./]/.test(name) ? packageOf(name) : undefined;
  }
  return undefined;
}

function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/**
 * Turns an error from importing `pkg` (the adapter of `store`) into the ConfigError a user can act on, or
 * returns it unchanged when it is something else.
 */
export function adapterImportError(store: string, pkg: string, error: unknown): unknown {
  const missing = missingPackage(error);
  if (missing === pkg) {
    return new ConfigError(
      `session store "${store}" needs the npm package ${pkg}, which is not installed: npm install ${pkg}`,
      { cause: error },
    );
  }
  if (missing) {
    return new ConfigError(
      `session store "${store}": ${pkg} is installed but its dependency ${missing} is missing; reinstall it: npm install ${pkg}`,
      { cause: error },
    );
  }
  if (error instanceof Error && error.message.startsWith("Could not locate the bindings file")) {
    // sqlite3 compiles at install time, and npm 11 runs a dependency's install script only when approved.
    return new ConfigError(
      `session store "${store}": the native module under ${pkg} was never built (npm 11 skips install scripts ` +
        "that package.json's allowScripts does not approve): npm install-scripts approve sqlite3 && npm rebuild sqlite3",
      { cause: error },
    );
  }
  return error;
}

/**
 * `import(pkg)` for the adapter of `store`, with a ConfigError naming the package when it is missing. The
 * specifier is a variable on purpose: TypeScript would otherwise resolve the optional package's types, and an
 * app that does not install it would fail to type-check.
 */
export async function importAdapter<T>(
  store: string,
  pkg: string,
  importer: (specifier: string) => Promise<unknown> = (specifier) => import(specifier),
): Promise<T> {
  try {
    return (await importer(pkg)) as T;
  } catch (error) {
    throw adapterImportError(store, pkg, error);
  }
}

/** `require(dependency)` as seen from `pkg`: the driver an adapter brings (pg, mysql2). */
export function requireBeside<T>(store: string, pkg: string, dependency: string): T {
  try {
    const base = createRequire(import.meta.url).resolve(pkg);
    return createRequire(base)(dependency) as T;
  } catch (error) {
    throw adapterImportError(store, pkg, error);
  }
}

export async function keyvClass(): Promise<typeof Keyv> {
  return (await import("keyv")).Keyv;
}

// Structural types of the optional packages (see importAdapter for why they are not imported): the pieces
// several stores share. Each store's own interfaces live in its file.

type Listener = (...args: never[]) => void;
export interface Emitter {
  on(event: string, listener: Listener): unknown;
}
export type AdapterClass<T, A extends unknown[]> = new (...args: A) => T;
