import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { escapeXml, lineChart } from "../lib/line_chart.js";
import { curveTable, judgeBounded, judgeFlat, memoryCeilingMiB, type Sample } from "../lib/memory_rules.js";
import { runMemory } from "../memory.js";

// The memory run (bench/memory.ts). No timing is asserted: the rules and the chart
// are checked on given curves, and a tiny real run proves the new-session-every-K logic end to end.

const TOTAL = 1_000_000;
const MiB = 1024;

/** 200 samples over a run of TOTAL requests, RSS (KiB) given by `rss(fraction of the run)`. */
function curve(rss: (x: number) => number): Sample[] {
  const samples: Sample[] = [{ ms: -1, requests: 0, rssKiB: 90 * MiB }];
  for (let i = 1; i <= 200; i++)
    samples.push({ ms: i * 500, requests: (TOTAL * i) / 200, rssKiB: rss(i / 200) });
  return samples;
}
/** A GC-like sawtooth of +/-6 MiB, so the rules see noise, not a clean line. */
const noise = (x: number) => (((x * 200) % 7) - 3) * 2 * MiB;

describe("memory run: rules", () => {
  const flat = curve((x) => 140 * MiB + noise(x));
  const growing = curve((x) => (120 + 100 * x) * MiB + noise(x)); // 100,000 sessions at ~1 KiB each, kept

  it("memory: a curve that levels off is bounded, one that keeps growing is not", () => {
    const levelling = curve((x) => (Math.min(x, 0.1) * 300 + 110) * MiB + noise(x));
    expect(judgeBounded(levelling, TOTAL, 90, 10_000).verdict).to.equal("PASS");
    expect(judgeBounded(flat, TOTAL, 90, 10_000).verdict).to.equal("PASS");
    const judged = judgeBounded(growing, TOTAL, 90, 10_000);
    expect(judged.verdict, judged.reason).to.equal("FAIL");
    expect(Number(/last-half growth ([\d.]+) MiB/.exec(judged.reason)?.[1])).to.be.above(30);
  });

  it("memory: a flat curve above the ceiling fails; the ceiling grows with maxEntries", () => {
    const ceiling = memoryCeilingMiB(90, 10_000);
    const high = curve(() => (ceiling + 1) * MiB);
    expect(judgeBounded(high, TOTAL, 90, 10_000).verdict).to.equal("FAIL");
    expect(judgeBounded(high, TOTAL, 90, 100_000).verdict).to.equal("PASS");
  });

  it("cookie: flat within the tolerance passes, a steady climb fails, a short run is skipped", () => {
    expect(judgeFlat(flat, TOTAL).verdict).to.equal("PASS");
    const judged = judgeFlat(growing, TOTAL);
    expect(judged.verdict, judged.reason).to.equal("FAIL");
    expect(judgeFlat(flat.slice(0, 3), TOTAL).verdict).to.equal("SKIP");
  });

  it("curveTable: ten rows at the first sample at or past each tenth", () => {
    const table = curveTable(flat, TOTAL);
    expect(table.map((r) => r.requests)).to.deep.equal(
      Array.from({ length: 10 }, (_, i) => (TOTAL * (i + 1)) / 10),
    );
  });
});

describe("memory run: line chart", () => {
  it("draws one polyline per series with every point, and escapes the labels", () => {
    const svg = lineChart({
      title: 'RSS <memory> & "cookie"',
      xLabel: "requests",
      yLabel: "MiB",
      series: [
        {
          name: "a<b",
          points: [
            [0, 1],
            [10, 2],
            [20, 3],
          ],
        },
        {
          name: "c & 'd'",
          points: [
            [0, 5],
            [20, 6],
          ],
        },
      ],
    });
    const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(" "));
    expect(polylines.map((p) => p.length)).to.deep.equal([3, 2]);
    for (const p of polylines) for (const xy of p) expect(xy).to.match(/^\d+(\.\d)?,\d+(\.\d)?$/);
    expect(svg).to.include("RSS &lt;memory&gt; &amp; &quot;cookie&quot;");
    expect(svg).to.include("a&lt;b").and.include("c &amp; &#39;d&#39;");
    expect(svg).to.not.include("a<b");
    expect(escapeXml(`<&>"'`)).to.equal("&lt;&amp;&gt;&quot;&#39;");
  });
});

describe("memory run: a tiny real run", function () {
  this.timeout(120_000);
  let out: string;
  before(() => {
    out = mkdtempSync(join(tmpdir(), "stoat-memory-"));
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it("--requests 2000 --every 10 on both stores: 200 sessions each, no non-2xx, md and svg written", async () => {
    const connections = 10;
    const { runs } = await runMemory([
      "--requests",
      "2000",
      "--every",
      "10",
      "--store",
      "both",
      "--out",
      out,
    ]);
    expect(runs.map((r) => r.store)).to.deep.equal(["memory", "cookie"]);
    for (const r of runs) {
      expect(r.requests, r.store).to.equal(2000);
      expect(r.sessionsCreated, r.store).to.be.within(2000 / 10, 2000 / 10 + connections);
      expect(r.sessionsCreated, r.store).to.equal(r.sessionsExpected);
      expect(r.sessionsLost, r.store).to.equal(0);
      expect(r.non2xx + r.errors + r.timeouts, r.store).to.equal(0);
      expect(r.cleanStop, r.store).to.equal(true);
    }
    expect(existsSync(join(out, "memory.md"))).to.equal(true);
    const svg = readFileSync(join(out, "memory.svg"), "utf8");
    expect(svg.match(/<polyline /g)).to.have.length(2);
  });
});
