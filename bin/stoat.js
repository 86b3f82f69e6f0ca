#!/usr/bin/env node
// The `stoat` command: the compiled CLI in dist/ (shipped in the package; `npm run build` in a checkout).
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  console.error("stoat: this checkout of Stoat is not built yet: run `npm run build` in it first");
  process.exit(1);
}
await import(main.href);
