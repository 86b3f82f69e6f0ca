// A line chart as a hand-written SVG string: one <polyline> per series, linear axes from 0, a legend.
// No dependencies and no browser, so a bench run can write its chart next to its markdown.

export interface Series {
  name: string;
  /** [x, y] pairs, in the order they are drawn. */
  points: ReadonlyArray<readonly [number, number]>;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  width?: number;
  height?: number;
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/** Text for SVG content and attribute values: the five XML specials escaped. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** A round upper bound for an axis (1, 2 or 5 times a power of ten), so tick labels stay short. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Compact tick labels: 250000 -> "250k", 1000000 -> "1M". */
function tickLabel(value: number): string {
  if (value >= 1e6 && value % 1e5 === 0) return `${value / 1e6}M`;
  if (value >= 1e3 && value % 100 === 0) return `${value / 1e3}k`;
  return String(Math.round(value * 100) / 100);
}

export function lineChart(o: ChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 400;
  const pad = { left: 64, right: 16, top: 36, bottom: 48 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const all = o.series.flatMap((s) => s.points);
  const xMax = niceMax(Math.max(0, ...all.map((p) => p[0])));
  const yMax = niceMax(Math.max(0, ...all.map((p) => p[1])));
  const px = (x: number) => (pad.left + (x / xMax) * plotW).toFixed(1);
  const py = (y: number) => (pad.top + plotH - (y / yMax) * plotH).toFixed(1);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(o.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const x = (xMax * i) / 5;
    const y = (yMax * i) / 5;
    out.push(
      `<line x1="${px(x)}" y1="${py(0)}" x2="${px(x)}" y2="${py(yMax)}" stroke="#eee"/>`,
      `<text x="${px(x)}" y="${pad.top + plotH + 16}" text-anchor="middle">${tickLabel(x)}</text>`,
      `<line x1="${px(0)}" y1="${py(y)}" x2="${px(xMax)}" y2="${py(y)}" stroke="#eee"/>`,
      `<text x="${pad.left - 6}" y="${py(y)}" text-anchor="end" dominant-baseline="middle">${tickLabel(y)}</text>`,
    );
  }
  out.push(
    `<rect x="${pad.left}" y="${pad.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
    `<text x="${pad.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`,
    `<text x="14" y="${pad.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${pad.top + plotH / 2})">${escapeXml(o.yLabel)}</text>`,
  );
  o.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const points = s.points.map(([x, y]) => `${px(x)},${py(y)}`).join(" ");
    out.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points}"><title>${escapeXml(s.name)}</title></polyline>`,
      `<line x1="${pad.left + 12}" y1="${pad.top + 14 + i * 16}" x2="${pad.left + 32}" y2="${pad.top + 14 + i * 16}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${pad.left + 38}" y="${pad.top + 14 + i * 16}" dominant-baseline="middle">${escapeXml(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
