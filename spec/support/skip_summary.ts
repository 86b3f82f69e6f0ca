import { gateLedger } from "./services.js";

// Loaded by .mocharc.json ("require"), before any spec file: at the very end of the run, after mocha's own
// counts, one line names what the gates in services.ts found missing and the one command that installs it
// all. A global teardown rather than a root `afterAll` hook, since that runs before the counts are printed.

gateLedger().reporting = true;

export function mochaGlobalTeardown(): void {
  const line = gateLedger().summary();
  // stdout, the reporter's own stream, so the line comes after its counts even when both are piped.
  if (line) console.log(`\n${line}`);
}
