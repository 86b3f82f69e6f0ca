#!/usr/bin/env node
// The `stoat` command. Stoat and the apps it serves are TypeScript; tsx compiles them as they load.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
