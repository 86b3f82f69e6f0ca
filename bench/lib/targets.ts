// The performance targets, checked against one run's rows: each says what it compares, what the run measured
// and whether it holds. A target whose scenarios did not run (`--only`) says so instead of passing.

import { flagged, peerRatio, peerRoundRatios, type Range, rangeOf, type Summary } from "./stats.js";

export type Verdict = "pass" | "fail" | "not run";

export interface TargetResult {
  target: string;
  measured: string;
  verdict: Verdict;
}

type Rows = ReadonlyMap<string, Summary>;
/** The scenarios a target compares, and its measured value and text (undefined when one did not run). */
interface Measure {
  ids: readonly string[];
  measure: (rows: Rows) => { value: number; text: string } | undefined;
}

interface Target extends Measure {
  target: string;
  holds: (value: number) => boolean;
}

/**
 * Two decimals, rounded down: a value just under a target (0.849 against 0.85) must not read as the target
 * next to a fail. Rounding down keeps every shown value on the same side of a two-decimal target as the
 * value itself (the 1e-9 absorbs binary fractions such as 0.29 * 100 = 28.999...).
 */
const fixed2 = (value: number) => (Math.floor(value * 100 + 1e-9) / 100).toFixed(2);

/** " (rounds 0.72–0.86)" when there were several rounds: a target near its line is read with its spread. */
const spread = (range: Range | undefined, unit = "") =>
  range ? ` (rounds ${fixed2(range[0])}${unit}–${fixed2(range[1])}${unit})` : "";

/** One scenario's ratio column (`vsKoa` or `vsRedis`). */
const ratioOf = (id: string, column: "vsKoa" | "vsRedis"): Measure => ({
  ids: [id],
  measure: (rows) => {
    const row = rows.get(id);
    const value = row?.[column];
    if (value === undefined) return undefined;
    return { value, text: fixed2(value) + spread(row?.[column === "vsKoa" ? "vsKoaRange" : "vsRedisRange"]) };
  },
});

/** Stoat's req/s over a peer's, each against the bare Koa measured around it (stats.ts, peerRatio). */
const timesPeer = (id: string, peer: string): Measure => ({
  ids: [id, peer],
  measure: (rows) => {
    const mine = rows.get(id);
    const value = mine && peerRatio(mine, rows.get(peer));
    if (value === undefined) return undefined;
    return {
      value,
      text: `${fixed2(value)}×${spread(rangeOf(peerRoundRatios(mine!, rows.get(peer))), "×")}`,
    };
  },
});

/** Stoat's req/s over the closest peer's (above 1: ahead of every one). */
const aheadOf = (id: string, peers: readonly string[]): Measure => ({
  ids: [id, ...peers],
  measure: (rows) => {
    const mine = rows.get(id);
    const times = peers.map((p) => (mine ? peerRatio(mine, rows.get(p)) : undefined));
    if (times.some((t) => t === undefined)) return undefined;
    const closest = Math.min(...(times as number[]));
    return { value: closest, text: `${fixed2(closest)}× ${peers[times.indexOf(closest)]}` };
  },
});

/** Stoat's p99 minus the lowest of the peers' p99 in the same scenario (<= 0: no worse than the best). */
const p99Against = (id: string, peers: readonly string[]): Measure => ({
  ids: [id, ...peers],
  measure: (rows) => {
    const mine = rows.get(id)?.p99;
    const theirs = peers.map((p) => rows.get(p)?.p99);
    if (mine === undefined || theirs.some((t) => t === undefined)) return undefined;
    const best = Math.min(...(theirs as number[]));
    return { value: mine - best, text: `${mine} ms vs best peer ${best} ms` };
  },
});

const COOKIE_RW_PEERS = ["koa-session-cookie-rw", "iron-session-rw"];
const REDIS_RW_PEERS = ["koa-session-redis-rw", "express-session-redis-rw"];

export const TARGETS: readonly Target[] = [
  {
    target: "Stoat cookie read+write ≥ 0.55 × bare Koa",
    ...ratioOf("stoat-cookie-rw", "vsKoa"),
    holds: (v) => v >= 0.55,
  },
  {
    target: "Stoat cookie read+write ahead of every cookie peer",
    ...aheadOf("stoat-cookie-rw", COOKIE_RW_PEERS),
    holds: (v) => v > 1,
  },
  {
    target: "Stoat cookie read+write ≥ 10 × iron-session (same seal format)",
    ...timesPeer("stoat-cookie-rw", "iron-session-rw"),
    holds: (v) => v >= 10,
  },
  {
    target: "Stoat cookie read-only ≥ 0.85 × bare Koa",
    ...ratioOf("stoat-cookie-ro", "vsKoa"),
    holds: (v) => v >= 0.85,
  },
  {
    target: "Stoat cookie untouched ≥ 0.95 × bare Koa",
    ...ratioOf("stoat-cookie-untouched", "vsKoa"),
    holds: (v) => v >= 0.95,
  },
  {
    target: "Stoat redis read+write ≥ 0.9 × bare Koa + Redis GET+SET",
    ...ratioOf("stoat-redis-rw", "vsRedis"),
    holds: (v) => v >= 0.9,
  },
  {
    target: "Stoat redis read-only ≥ 0.9 × bare Koa + Redis GET",
    ...ratioOf("stoat-redis-ro", "vsRedis"),
    holds: (v) => v >= 0.9,
  },
  {
    target: "Stoat redis read+write ≥ 1.8 × koa-session + Redis",
    ...timesPeer("stoat-redis-rw", "koa-session-redis-rw"),
    holds: (v) => v >= 1.8,
  },
  {
    target: "Stoat redis read+write ≥ 3 × express-session + connect-redis",
    ...timesPeer("stoat-redis-rw", "express-session-redis-rw"),
    holds: (v) => v >= 3,
  },
  {
    target: "p99, cookie read+write: no worse than the best peer",
    ...p99Against("stoat-cookie-rw", COOKIE_RW_PEERS),
    holds: (v) => v <= 0,
  },
  {
    target: "p99, cookie read-only: no worse than koa-session",
    ...p99Against("stoat-cookie-ro", ["koa-session-cookie-ro"]),
    holds: (v) => v <= 0,
  },
  {
    target: "p99, redis read+write: no worse than the best peer",
    ...p99Against("stoat-redis-rw", REDIS_RW_PEERS),
    holds: (v) => v <= 0,
  },
];

/** Every target against `rows`; a row with non-2xx answers or errors fails the targets it takes part in. */
export function checkTargets(rows: readonly Summary[], targets: readonly Target[] = TARGETS): TargetResult[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return targets.map(({ target, ids, measure, holds }) => {
    const measured = measure(byId);
    if (!measured) return { target, measured: "–", verdict: "not run" };
    const broken = ids.filter((id) => flagged(byId.get(id)!));
    if (broken.length > 0)
      return { target, measured: `${measured.text} (⚠ errors in ${broken.join(", ")})`, verdict: "fail" };
    return { target, measured: measured.text, verdict: holds(measured.value) ? "pass" : "fail" };
  });
}

const MARK: Record<Verdict, string> = { pass: "✅ pass", fail: "❌ fail", "not run": "– not run" };

export function renderTargets(results: readonly TargetResult[]): string {
  const lines = results.map((r) => `| ${r.target} | ${r.measured} | ${MARK[r.verdict]} |`);
  return ["| Performance target | This run | Verdict |", "| --- | --- | --- |", ...lines].join("\n");
}
