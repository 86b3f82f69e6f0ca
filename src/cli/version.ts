import { readFileSync } from "node:fs";

/** Stoat's version, from its package.json (two levels up from both src/cli/ and dist/cli/). */
export function stoatVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return manifest.version;
}
