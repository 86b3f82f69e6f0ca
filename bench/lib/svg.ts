// The chart of a run: one horizontal bar per scenario, its length its req/s as a ratio to bare Koa, with a
// reference line at 1.0. A hand-written SVG string: no browser, canvas or network needed to draw it.

import { escapeXml } from "./line_chart.js";

export interface Bar {
  label: string;
  ratio: number;
  /** The scenario had non-2xx answers or errors: drawn in another colour, marked in its label. */
  flagged?: boolean;
}

export const CHART = {
  width: 780,
  labelWidth: 320,
  plotWidth: 380,
  rowHeight: 26,
  top: 40,
  bottom: 30,
} as const;

/** Pixels per 1.0 of ratio: the longest bar (or the 1.0 line, when all are shorter) fills the plot. */
export function scaleFor(bars: readonly Bar[]): number {
  const longest = Math.max(1, ...bars.map((b) => (Number.isFinite(b.ratio) ? b.ratio : 0)));
  return CHART.plotWidth / longest;
}

export function renderChart(
  bars: readonly Bar[],
  title = "req/s as a ratio to bare Koa (higher is better)",
): string {
  const { width, labelWidth, rowHeight, top, bottom } = CHART;
  const height = top + bars.length * rowHeight + bottom;
  const scale = scaleFor(bars);
  const x0 = labelWidth;
  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight;
    const w = Math.max(0, (Number.isFinite(bar.ratio) ? bar.ratio : 0) * scale);
    const label = escapeXml(bar.flagged ? `${bar.label} ⚠` : bar.label);
    return [
      `<text x="${x0 - 8}" y="${y + 17}" text-anchor="end">${label}</text>`,
      `<rect class="bar${bar.flagged ? " flagged" : ""}" x="${x0}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 8}"/>`,
      `<text x="${(x0 + w + 6).toFixed(1)}" y="${y + 17}">${bar.ratio.toFixed(2)}</text>`,
    ].join("");
  });
  const one = (x0 + scale).toFixed(1);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    "<style>.bar{fill:#4c78a8}.flagged{fill:#e45756}.ref{stroke:#333;stroke-dasharray:4 3}</style>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`,
    ...rows,
    `<line class="ref" x1="${one}" y1="${top - 4}" x2="${one}" y2="${height - bottom + 4}"/>`,
    `<text x="${one}" y="${height - 10}" text-anchor="middle">1.0 = bare Koa</text>`,
    "</svg>",
    "",
  ].join("\n");
}
