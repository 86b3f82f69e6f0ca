// The markdown table of a run: one row per scenario; a row with non-2xx answers or errors says so in its
// own column (with their status codes) and marks its req/s, so a broken scenario never passes for a slow or
// fast one. A hot session's row says how many of its acknowledged writes the session lost (lib/hot.ts).

import { flagged, type Range, type Summary } from "./stats.js";

const fixed = (value: number | undefined, digits: number) =>
  value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);

function problems(row: Summary): string {
  if (!flagged(row)) return "";
  const statuses = Object.entries(row.statuses ?? {})
    .map(([status, count]) => `${status}: ${count}`)
    .join(", ");
  const parts = [
    row.non2xx > 0 ? `${row.non2xx} non-2xx${statuses ? ` (${statuses})` : ""}` : "",
    row.errors > 0 ? `${row.errors} errors` : "",
  ].filter(Boolean);
  return `⚠ ${parts.join(", ")}`;
}

/** A ratio, with the lowest and highest round after it when there were several: how far the rounds agreed. */
const ratio = (value: number | undefined, range: Range | undefined) =>
  range && value !== undefined
    ? `${fixed(value, 2)} (${fixed(range[0], 2)}–${fixed(range[1], 2)})`
    : fixed(value, 2);

/** Cells may not hold a pipe or a line break. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

export function renderTable(rows: readonly Summary[]): string {
  const header = [
    "| Scenario | req/s (median) | p50 ms | p99 ms | server CPU µs/req | × bare Koa (lowest–highest round) | × bare Redis handler | lost (of acknowledged) | Problems |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  const lines = rows.map((row) => {
    const rps = `${Math.round(row.rps)}${flagged(row) ? " ⚠" : ""}`;
    const vsRedis = row.redisBaseline
      ? `${ratio(row.vsRedis, row.vsRedisRange)} of ${row.redisBaseline}`
      : "";
    const cells = [
      row.label,
      rps,
      fixed(row.p50, 1),
      fixed(row.p99, 1),
      fixed(row.cpuUs, 0),
      ratio(row.vsKoa, row.vsKoaRange),
      vsRedis,
      row.lost === undefined ? "" : `${row.lost} of ${row.acked ?? 0}`,
      problems(row),
    ];
    return `| ${cells.map(cell).join(" | ")} |`;
  });
  return [...header, ...lines].join("\n");
}
