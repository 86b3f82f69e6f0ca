import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

let registered = false;

/**
 * Lets `import()` load TypeScript: registers the project's own tsx (resolved from `root`, so the version the
 * project pins compiles its code), unless a TypeScript loader is already on. Returns false when the project
 * has no tsx and none is on; the import may still work (a loader we cannot see), else it fails and the
 * caller says how to fix it.
 */
export async function enableTypeScript(root: string): Promise<boolean> {
  if (registered || loaderActive()) return true;
  const api = tsxApi(root);
  if (api === undefined) return false;
  const { register } = (await import(pathToFileURL(api).href)) as { register?: () => unknown };
  if (typeof register !== "function") return false;
  register();
  registered = true;
  return true;
}

/**
 * The file of `tsx/esm/api` for `import`, resolved from the project. Not require.resolve("tsx/esm/api"):
 * that gives the CommonJS build, whose register() looks for its hooks at the wrong path when imported.
 */
function tsxApi(root: string): string | undefined {
  let manifestPath: string;
  try {
    manifestPath = createRequire(join(root, "package.json")).resolve("tsx/package.json");
  } catch {
    return undefined;
  }
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { exports?: Record<string, unknown> };
  const entry = manifest.exports?.["./esm/api"] as { import?: string | { default?: string } } | undefined;
  const file = typeof entry?.import === "string" ? entry.import : entry?.import?.default;
  return file === undefined ? undefined : join(dirname(manifestPath), file);
}

/**
 * A TypeScript loader is on when Stoat itself runs from its .ts source (its own specs, under tsx), or when
 * node was started with one (`node --import tsx`, also through NODE_OPTIONS).
 */
function loaderActive(): boolean {
  if (import.meta.url.endsWith(".ts")) return true;
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ");
  return /(^|[\s=/])tsx(\/|\s|$)/.test(flags);
}
