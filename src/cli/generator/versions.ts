import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Drivers a project uses that Stoat's package.json does not pin, because they come in under an adapter or
 * under knex: the versions in Stoat's package-lock.json, which its specs run with (a spec keeps them equal).
 */
export const DRIVER_VERSIONS: Readonly<Record<string, string>> = {
  sqlite3: "5.1.7",
};

interface Manifest {
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Stoat's own package.json: in a checkout and in an installed copy alike (npm pack keeps every field). */
export function readManifest(root: string): Manifest {
  return JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;
}

const EXACT = /^\d+\.\d+\.\d+(-[\w.]+)?$/;

/**
 * The exact version of `pkg` Stoat is tested with: its own pin (devDependencies, then dependencies), else
 * the driver table. Anything else is a generator bug, so it throws rather than writing a range or "*".
 */
export function testedVersion(manifest: Manifest, pkg: string): string {
  const version = manifest.devDependencies?.[pkg] ?? manifest.dependencies?.[pkg] ?? DRIVER_VERSIONS[pkg];
  if (version === undefined || !EXACT.test(version)) {
    throw new Error(`stoat new: no exact version of ${pkg} in Stoat's package.json or DRIVER_VERSIONS`);
  }
  return version;
}
