import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { BENCH_DIR } from "../lib/paths.js";
import type { Summary } from "../lib/stats.js";

// `npm run bench` end to end on a tiny run: two scenarios, one short round, into a temporary folder. What
// is checked is what it writes, never how fast anything was.

const RUN = join(BENCH_DIR, "run.ts");

describe("bench run (tiny, end to end)", function () {
  this.timeout(180_000);
  let out: string;
  let stdout: string;

  before(async () => {
    out = mkdtempSync(join(tmpdir(), "stoat-bench-"));
    const args = ["--import", "tsx", RUN, "--duration", "0.3", "--warmup", "0.2", "--rounds", "1"];
    const only = ["--only", "bare-koa,stoat-cookie-rw", "--connections", "4", "--brackets", "--out", out];
    ({ stdout } = await promisify(execFile)(process.execPath, [...args, ...only], {
      cwd: BENCH_DIR,
      timeout: 170_000,
    }));
  });
  after(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it("prints the table and writes latest.md with a row per scenario", () => {
    const md = readFileSync(join(out, "latest.md"), "utf8");
    for (const text of [stdout, md]) {
      // req/s, p50, p99, server CPU µs per request (read from /proc on this Linux machine), ratio.
      expect(text).to.match(/^\| bare Koa \| \d+ \| [\d.]+ \| [\d.]+ \| \d+ \| 1\.00 \|/m);
      expect(text).to.match(/^\| Stoat cookie read\+write \| \d+ \| [\d.]+ \| [\d.]+ \| \d+ \| [\d.]+ \|/m);
      expect(text).to.include("Settings: 4 connections, 0.3 s per measurement");
      expect(text).to.include("each bracketed by its baselines (0.25 s before and after)");
    }
    expect(md).to.include("![ratios](latest.svg)");
    expect(md).not.to.include("⚠");
    // The targets table: the one this run can judge has a verdict, the rest say they did not run.
    for (const text of [stdout, md]) {
      expect(text).to.include("| Performance target | This run | Verdict |");
      expect(text).to.match(
        /^\| Stoat cookie read\+write ≥ 0\.55 × bare Koa \| [\d.]+ \| (✅ pass|❌ fail) \|$/m,
      );
      expect(text).to.match(
        /^\| Stoat redis read-only ≥ 0\.9 × bare Koa \+ Redis GET \(CPU\) \| – \| – not run \|$/m,
      );
    }
  });

  it("writes latest.json with every round's numbers and latest.svg with a bar per scenario", () => {
    const json = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as {
      rows: Summary[];
      facts: { node: string };
      targets: { target: string; verdict: string }[];
    };
    expect(json.targets.filter((t) => t.verdict !== "not run").map((t) => t.target)).to.deep.equal([
      "Stoat cookie read+write ≥ 0.55 × bare Koa",
    ]);
    expect(json.facts.node).to.equal(process.version);
    expect(json.rows.map((r) => r.id)).to.deep.equal(["bare-koa", "stoat-cookie-rw"]);
    // Stoat's measurement was bracketed by bare Koa, and its ratio divides by that bracket.
    const [bare, stoat] = json.rows as [Summary, Summary];
    expect(bare.rounds[0]!.baselines).to.equal(undefined);
    const around = stoat.rounds[0]!.baselines?.["bare-koa"];
    expect(around).to.be.greaterThan(0);
    expect(stoat.vsKoa).to.be.closeTo(stoat.rounds[0]!.rps / around!, 1e-9);
    for (const row of json.rows) {
      expect(row.rounds).to.have.length(1);
      expect(row.rounds[0]!.requests, row.id).to.be.greaterThan(0);
      expect(row.non2xx + row.errors, row.id).to.equal(0);
    }
    const svg = readFileSync(join(out, "latest.svg"), "utf8");
    expect(svg.match(/<rect class="bar/g)).to.have.length(2);
    expect(svg).to.include("Stoat cookie read+write");
  });

  it("--from reports a saved run again without measuring: its facts and settings, ratios with their rounds", async () => {
    // The tiny run's rounds, made into two rounds without brackets: bare Koa twice as fast in the second.
    const json = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as { rows: Summary[] };
    for (const row of json.rows) {
      const { baselines: _, ...first } = row.rounds[0]!;
      row.rounds = [first, { ...first, rps: row.id === "bare-koa" ? first.rps * 2 : first.rps }];
    }
    const saved = join(out, "saved.json");
    writeFileSync(saved, JSON.stringify(json));
    const again = join(out, "again");
    const args = ["--import", "tsx", RUN, "--from", saved, "--out", again];
    await promisify(execFile)(process.execPath, args, { cwd: BENCH_DIR, timeout: 60_000 });
    const md = readFileSync(join(again, "latest.md"), "utf8");
    const [bare, stoat] = json.rows as [Summary, Summary];
    const low = stoat.rounds[0]!.rps / (bare.rounds[0]!.rps * 2);
    const high = stoat.rounds[0]!.rps / bare.rounds[0]!.rps;
    expect(md).to.include(`(${low.toFixed(2)}–${high.toFixed(2)}) |`);
    expect(md).to.include("Settings: 4 connections, 0.3 s per measurement");
    const report = JSON.parse(readFileSync(join(again, "latest.json"), "utf8")) as { rows: Summary[] };
    expect(report.rows.map((r) => r.rounds.length)).to.deep.equal([2, 2]);
  });
});
