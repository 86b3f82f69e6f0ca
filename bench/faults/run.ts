// The fault runs: `npm run faults -- [--short] [--only NAME[,NAME]]`. One line per
// scenario, PASS or FAIL with the numbers; exit code 1 if any failed. See README "Reliability".

import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { SCENARIOS, type ScenarioResult } from "./scenarios.js";

export async function runFaults(short: boolean, only?: string[]): Promise<ScenarioResult[]> {
  const names = only ?? Object.keys(SCENARIOS);
  const all: ScenarioResult[] = [];
  for (const name of names) {
    const scenario = SCENARIOS[name];
    if (!scenario) throw new Error(`--only: one of ${Object.keys(SCENARIOS).join(", ")}`);
    const started = Date.now();
    let results: ScenarioResult[];
    try {
      const r = await scenario({ short });
      results = Array.isArray(r) ? r : [r];
    } catch (error) {
      results = [{ name, pass: false, line: `FAIL ${name}: did not run -- ${String(error)}` }];
    }
    for (const r of results) {
      console.log(`${r.line} [${((Date.now() - started) / 1000).toFixed(1)} s]`);
      all.push(r);
    }
  }
  return all;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { short: { type: "boolean", default: false }, only: { type: "string" } },
  });
  runFaults(
    values.short!,
    values.only?.split(",").map((s) => s.trim()),
  ).then(
    (results) => {
      process.exitCode = results.every((r) => r.pass) ? 0 : 1;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
