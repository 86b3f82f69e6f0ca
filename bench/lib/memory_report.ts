// bench/results/memory.md: when and where the memory run ran, with what, and its tables.

import { cpus, hostname, release, totalmem } from "node:os";
import type { MemoryOptions, StoreRun } from "../memory.js";
import { COOKIE_RULE, MEMORY_RULE } from "./memory_rules.js";

const f1 = (n: number) => n.toFixed(1);
const thousands = (n: number) => n.toLocaleString("en-US");

export function memoryMarkdown(o: MemoryOptions, runs: readonly StoreRun[], line: (r: StoreRun) => string) {
  const cpu = cpus();
  const out = [
    "# Memory run",
    "",
    `- date: ${new Date().toISOString()}`,
    `- machine: ${hostname()}, ${cpu.length} x ${cpu[0]?.model ?? "unknown CPU"}, ${f1(totalmem() / 2 ** 30)} GiB, Linux ${release()}`,
    `- Node ${process.version}; load from autocannon in the orchestrating process, the app in its own (bench/faults/server.ts, GET /bump)`,
    `- parameters: --requests ${o.requests} --every ${o.every} --connections ${o.connections}` +
      (o.maxEntries ? ` --max-entries ${o.maxEntries}` : " (memory store on its default maxEntries)"),
    "- RSS: VmRSS of the app process from /proc/<pid>/status every 500 ms; the idle value is read before the load",
    "",
    "## Rules",
    "",
    `- memory, bounded: the median RSS of the last 10% of the run is less than ${MEMORY_RULE.maxLastHalfGrowthMiB} MiB above ` +
      `the median of the 10% after the half-way mark, and the peak stays under idle RSS + maxEntries x ` +
      `${MEMORY_RULE.entryBudgetKiB} KiB + ${MEMORY_RULE.headroomMiB} MiB.`,
    `- cookie, flat: the median RSS of the last 20% is within max(${COOKIE_RULE.maxRelativeChange * 100}%, ` +
      `${COOKIE_RULE.minAbsoluteMiB} MiB) of the median of the 20% after a ${COOKIE_RULE.warmUp * 100}% warm-up.`,
    "- both: no non-2xx answer, no error or timeout, no live session lost, and the app closes cleanly.",
    "",
    "## Results",
    "",
    "```",
    ...runs.map(line),
    "```",
    "",
    "| store | requests | sessions created (expected) | lost | non-2xx | req/s | seconds | idle MiB | peak MiB | first 20% MiB | last 20% MiB | verdict |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...runs.map(
      (r) =>
        `| ${r.store}${r.maxEntries ? ` (maxEntries ${thousands(r.maxEntries)})` : ""} | ${thousands(r.requests)} | ` +
        `${thousands(r.sessionsCreated)} (${thousands(r.sessionsExpected)}) | ${r.sessionsLost} | ${r.non2xx} | ` +
        `${Math.round(r.requestsPerSecond)} | ${f1(r.seconds)} | ${f1(r.baselineMiB)} | ${f1(r.peakMiB)} | ` +
        `${f1(r.firstMiB)} | ${f1(r.lastMiB)} | ${r.judgement.verdict} |`,
    ),
    "",
    "## RSS curve",
    "",
    `| requests done | ${runs.map((r) => `${r.store} RSS MiB (at requests)`).join(" | ")} |`,
    `| --- | ${runs.map(() => "---").join(" | ")} |`,
    ...Array.from({ length: runs[0]?.table.length ?? 0 }, (_, i) => {
      const target = Math.round((o.requests * (i + 1)) / (runs[0]?.table.length ?? 1));
      const cells = runs.map((r) => `${f1(r.table[i]!.rssMiB)} (${thousands(r.table[i]!.requests)})`);
      return `| ${thousands(target)} | ${cells.join(" | ")} |`;
    }),
    "",
    "![RSS against requests done](memory.svg)",
    "",
  ];
  return out.join("\n");
}
