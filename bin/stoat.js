#!/usr/bin/env node
// The `stoat` command: the compiled CLI in dist/ (built by `npm run build`, shipped in the package).
await import("../dist/cli/main.js");
