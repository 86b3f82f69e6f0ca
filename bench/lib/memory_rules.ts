// The pure half of the memory run (bench/memory.ts): RSS samples in, the curve table and a PASS/FAIL
// verdict out, so the rules can be checked on synthetic curves without a server.
//
// Windows are fractions of the run by requests done, not by time, so a slow start or a GC pause does not
// shift them. A window's value is the median of its samples, which ignores single GC spikes.

export interface Sample {
  /** Milliseconds since the load started (negative: the idle sample taken before it). */
  ms: number;
  /** Requests answered so far. */
  requests: number;
  /** The server process's VmRSS, in KiB. */
  rssKiB: number;
}

export type Verdict = "PASS" | "FAIL" | "SKIP";

export interface Judgement {
  verdict: Verdict;
  /** One line: the numbers the rule compared. */
  reason: string;
}

/** The memory store's rule. A run that never grows is bounded; one that keeps every session is not. */
export const MEMORY_RULE = {
  /** The median RSS of the last 10% of the run may exceed that of the 10% after the half-way mark by this. */
  maxLastHalfGrowthMiB: 16,
  /** Budget per LRU entry (key, encrypted record, cache node), generous: measured at well under 1 KiB. */
  entryBudgetKiB: 2,
  /** Room for V8's heap to grow under load (new space, fragmentation, code) above the idle baseline. */
  headroomMiB: 96,
} as const;

/** The cookie store's rule: after warm-up, RSS stays within this of where it settled. */
export const COOKIE_RULE = {
  /** Requests (as a fraction of the run) ignored while the JIT and the heap warm up. */
  warmUp: 0.1,
  /** The last 20%'s median within this fraction of the first 20%'s (after warm-up)... */
  maxRelativeChange: 0.1,
  /** ...or within this many MiB, whichever is larger (a small process's 10% is below GC noise). */
  minAbsoluteMiB: 8,
} as const;

/** Fewest samples in a window for a verdict; a shorter run is SKIPped, not judged. */
export const MIN_WINDOW_SAMPLES = 3;

export const mib = (kib: number) => kib / 1024;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The samples taken while requests done was within [from, to] of `total` (the idle sample excluded). */
export function inWindow(samples: readonly Sample[], total: number, from: number, to: number): Sample[] {
  return samples.filter((s) => s.ms >= 0 && s.requests >= from * total && s.requests <= to * total);
}

export function windowMedianMiB(samples: readonly Sample[], total: number, from: number, to: number) {
  const inside = inWindow(samples, total, from, to);
  return { mib: mib(median(inside.map((s) => s.rssKiB))), count: inside.length };
}

export function peakMiB(samples: readonly Sample[]): number {
  return mib(Math.max(...samples.map((s) => s.rssKiB)));
}

/** `points` evenly spaced rows: at k/points of the run, the first sample at or past it (else the last). */
export function curveTable(samples: readonly Sample[], total: number, points = 10) {
  const loaded = samples.filter((s) => s.ms >= 0);
  return Array.from({ length: points }, (_, i) => {
    const target = (total * (i + 1)) / points;
    const s = loaded.find((x) => x.requests >= target) ?? loaded[loaded.length - 1];
    return { requests: s?.requests ?? 0, rssMiB: s ? mib(s.rssKiB) : Number.NaN };
  });
}

/** The memory store's ceiling: idle RSS + maxEntries x the entry budget + headroom. */
export function memoryCeilingMiB(baselineMiB: number, maxEntries: number): number {
  return baselineMiB + (maxEntries * MEMORY_RULE.entryBudgetKiB) / 1024 + MEMORY_RULE.headroomMiB;
}

/**
 * Bounded: the last 10% of the run sits less than `maxLastHalfGrowthMiB` above the 10% after the half-way
 * mark, and the peak stays under `memoryCeilingMiB`. An LRU that does not cap grows linearly with the
 * sessions made (100,000 here, several hundred bytes each), which fails both.
 */
export function judgeBounded(
  samples: readonly Sample[],
  total: number,
  baselineMiB: number,
  maxEntries: number,
): Judgement {
  const mid = windowMedianMiB(samples, total, 0.5, 0.6);
  const end = windowMedianMiB(samples, total, 0.9, 1);
  if (Math.min(mid.count, end.count) < MIN_WINDOW_SAMPLES)
    return { verdict: "SKIP", reason: `run too short to judge (${mid.count}/${end.count} samples)` };
  const growth = end.mib - mid.mib;
  const peak = peakMiB(samples);
  const ceiling = memoryCeilingMiB(baselineMiB, maxEntries);
  const ok = growth < MEMORY_RULE.maxLastHalfGrowthMiB && peak < ceiling;
  return {
    verdict: ok ? "PASS" : "FAIL",
    reason:
      `last-half growth ${growth.toFixed(1)} MiB (limit ${MEMORY_RULE.maxLastHalfGrowthMiB}), ` +
      `peak ${peak.toFixed(1)} MiB (ceiling ${ceiling.toFixed(1)})`,
  };
}

/** Flat: the median of the last 20% is within max(10%, 8 MiB) of the median of the 20% after warm-up. */
export function judgeFlat(samples: readonly Sample[], total: number): Judgement {
  const first = windowMedianMiB(samples, total, COOKIE_RULE.warmUp, COOKIE_RULE.warmUp + 0.2);
  const last = windowMedianMiB(samples, total, 0.8, 1);
  if (Math.min(first.count, last.count) < MIN_WINDOW_SAMPLES)
    return { verdict: "SKIP", reason: `run too short to judge (${first.count}/${last.count} samples)` };
  const allowed = Math.max(first.mib * COOKIE_RULE.maxRelativeChange, COOKIE_RULE.minAbsoluteMiB);
  const change = last.mib - first.mib;
  return {
    verdict: Math.abs(change) <= allowed ? "PASS" : "FAIL",
    reason:
      `last 20% ${last.mib.toFixed(1)} MiB vs first 20% after warm-up ${first.mib.toFixed(1)} MiB: ` +
      `${change >= 0 ? "+" : ""}${change.toFixed(1)} MiB (allowed +/-${allowed.toFixed(1)})`,
  };
}
