// From per-round numbers to one row per scenario: medians over the rounds (one slow round, a neighbour's
// test run say, does not move a median of three), the problems counted, and the ratios to the baselines
// (per round, then the median: pairedRatio).

import type { RoundResult } from "./load.js";
import { BARE_KOA, type Scenario } from "./scenarios.js";

export interface Summary {
  id: string;
  label: string;
  rounds: RoundResult[];
  /** Medians over the rounds. */
  rps: number;
  p50: number;
  p99: number;
  /** Median server CPU µs per request, when every round could read it. */
  cpuUs?: number;
  /** Totals over the rounds: any of either flags the row. */
  non2xx: number;
  errors: number;
  /** The non-2xx answers by status code, over the rounds (when there were any). */
  statuses?: Record<string, number>;
  /** Hot session, over the rounds: the acknowledged writes and those the session lost (lib/hot.ts). */
  acked?: number;
  lost?: number;
  /** rps / bare Koa's rps, when bare Koa ran. */
  vsKoa?: number;
  /** rps / the bare Redis handler's rps (Redis scenarios whose baseline ran). */
  vsRedis?: number;
  /** The lowest and highest round of vsKoa / vsRedis, when paired over more than one round. */
  vsKoaRange?: Range;
  vsRedisRange?: Range;
  redisBaseline?: string;
}

/** The lowest and the highest of a set of per-round values. */
export type Range = readonly [low: number, high: number];

/** The range of per-round values; undefined for fewer than two (one round has no spread to show). */
export function rangeOf(values: readonly number[] | undefined): Range | undefined {
  if (!values || values.length < 2) return undefined;
  return [Math.min(...values), Math.max(...values)];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function flagged(summary: Pick<Summary, "non2xx" | "errors">): boolean {
  return summary.non2xx > 0 || summary.errors > 0;
}

/** The rounds' non-2xx answers by status code, summed; nothing when there were none. */
function statusesOf(rounds: readonly RoundResult[]): { statuses?: Record<string, number> } {
  const statuses: Record<string, number> = {};
  for (const r of rounds)
    for (const [status, count] of Object.entries(r.statuses ?? {}))
      statuses[status] = (statuses[status] ?? 0) + count;
  return Object.keys(statuses).length > 0 ? { statuses } : {};
}

/** One summary per scenario that has rounds, in the scenarios' order. */
export function summarise(
  scenarios: readonly Scenario[],
  results: ReadonlyMap<string, readonly RoundResult[]>,
): Summary[] {
  const rows = scenarios
    .filter((s) => (results.get(s.id)?.length ?? 0) > 0)
    .map((s): Summary => {
      const rounds = [...results.get(s.id)!];
      const sum = (pick: (r: RoundResult) => number) => rounds.reduce((total, r) => total + pick(r), 0);
      return {
        id: s.id,
        label: s.label,
        rounds,
        rps: median(rounds.map((r) => r.rps)),
        p50: median(rounds.map((r) => r.p50)),
        p99: median(rounds.map((r) => r.p99)),
        ...(rounds.every((r) => r.cpuUs !== undefined) ? { cpuUs: median(rounds.map((r) => r.cpuUs!)) } : {}),
        non2xx: sum((r) => r.non2xx),
        errors: sum((r) => r.errors),
        ...statusesOf(rounds),
        ...(rounds.some((r) => r.lost !== undefined)
          ? { acked: sum((r) => r.acked ?? 0), lost: sum((r) => r.lost ?? 0) }
          : {}),
        ...(s.redisBaseline ? { redisBaseline: s.redisBaseline } : {}),
      };
    });
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const row of rows) {
    const koa = against(row, byId.get(BARE_KOA));
    const redis = row.redisBaseline ? against(row, byId.get(row.redisBaseline)) : undefined;
    if (koa) row.vsKoa = koa.ratio;
    if (koa?.range) row.vsKoaRange = koa.range;
    if (redis) row.vsRedis = redis.ratio;
    if (redis?.range) row.vsRedisRange = redis.range;
  }
  return rows;
}

/**
 * `row` against `base`, per round, then the median over rounds. In each round the base's req/s is the one
 * measured right around `row`'s measurement (bracket.ts) when there is one, else the base's own measurement
 * of that round (the same interleaved pass, up to minutes apart), so a moment in which the whole machine was
 * slow (a neighbour's job, the host's steal) moves both sides of the ratio instead of one. Undefined without
 * a base; the ratio of the medians when the two ran a different number of rounds.
 */
export function pairedRatio(
  row: Pick<Summary, "rounds" | "rps">,
  base: Pick<Summary, "id" | "rounds" | "rps"> | undefined,
): number | undefined {
  return against(row, base)?.ratio;
}

/** pairedRatio, with the range of its rounds (none for a baseline against itself); undefined without a base. */
function against(
  row: Pick<Summary, "rounds" | "rps">,
  base: Pick<Summary, "id" | "rounds" | "rps"> | undefined,
): { ratio: number; range?: Range } | undefined {
  if (!base || !(base.rps > 0)) return undefined;
  const rounds = roundRatios(row, base);
  const range = base === row ? undefined : rangeOf(rounds);
  return { ratio: median(rounds ?? [row.rps / base.rps]), ...(range ? { range } : {}) };
}

/** pairedRatio's ratio of each round; undefined without a base or when the two ran different rounds. */
export function roundRatios(
  row: Pick<Summary, "rounds">,
  base: Pick<Summary, "id" | "rounds" | "rps"> | undefined,
): number[] | undefined {
  if (!base || !(base.rps > 0) || row.rounds.length !== base.rounds.length) return undefined;
  return row.rounds.map((r, i) => r.rps / (r.baselines?.[base.id] ?? base.rounds[i]!.rps));
}

/**
 * `row` over `peer`. When both were bracketed by bare Koa in every round, per round: each one's ratio to the
 * bare Koa measured around it, divided, so the two are compared at the machine speed each ran at; else
 * pairedRatio (the peer's req/s of the same round). The median over rounds.
 */
export function peerRatio(
  row: Pick<Summary, "rounds" | "rps">,
  peer: Pick<Summary, "id" | "rounds" | "rps"> | undefined,
): number | undefined {
  if (!peer) return undefined;
  const rounds = peerRoundRatios(row, peer);
  return rounds ? median(rounds) : pairedRatio(row, peer);
}

/** peerRatio's ratio of each round; undefined when the two cannot be paired round by round. */
export function peerRoundRatios(
  row: Pick<Summary, "rounds">,
  peer: Pick<Summary, "id" | "rounds" | "rps"> | undefined,
): number[] | undefined {
  if (!peer) return undefined;
  const around = (r: RoundResult) => r.baselines?.[BARE_KOA];
  const bracketedAlike =
    row.rounds.length === peer.rounds.length &&
    row.rounds.length > 0 &&
    [...row.rounds, ...peer.rounds].every((r) => (around(r) ?? 0) > 0);
  if (!bracketedAlike) return roundRatios(row, peer);
  return row.rounds.map((r, i) => {
    const p = peer.rounds[i]!;
    return r.rps / around(r)! / (p.rps / around(p)!);
  });
}

/**
 * The CPU verdicts' ratio: `base`'s server CPU per request over `row`'s, per round (the two measured in the
 * same interleaved pass), then the median over rounds; above 1, `row` costs less a request than `base`. The
 * ratio of the medians when the rounds cannot be paired; undefined when either has no CPU reading.
 */
export function cpuRatio(
  row: Pick<Summary, "rounds" | "cpuUs">,
  base: Pick<Summary, "rounds" | "cpuUs"> | undefined,
): number | undefined {
  if (!base || row.cpuUs === undefined || base.cpuUs === undefined || !(row.cpuUs > 0)) return undefined;
  const rounds = cpuRoundRatios(row, base);
  return rounds ? median(rounds) : base.cpuUs / row.cpuUs;
}

/** cpuRatio of each round; undefined when the two cannot be paired round by round. */
export function cpuRoundRatios(
  row: Pick<Summary, "rounds">,
  base: Pick<Summary, "rounds">,
): number[] | undefined {
  if (row.rounds.length !== base.rounds.length || row.rounds.length === 0) return undefined;
  const pairs = row.rounds.map((r, i) => [base.rounds[i]!.cpuUs, r.cpuUs] as const);
  if (pairs.some(([b, r]) => b === undefined || r === undefined || !(r > 0))) return undefined;
  return pairs.map(([b, r]) => b! / r!);
}

/**
 * What a session library adds to its framework's server CPU per request: `row`'s CPU per request minus its
 * bare framework's, per round, then the median over rounds (the difference of the medians when the rounds
 * cannot be paired); undefined without both readings.
 */
export function cpuAdded(
  row: Pick<Summary, "rounds" | "cpuUs">,
  bare: Pick<Summary, "rounds" | "cpuUs"> | undefined,
): number | undefined {
  if (!bare || row.cpuUs === undefined || bare.cpuUs === undefined) return undefined;
  const paired =
    row.rounds.length === bare.rounds.length &&
    row.rounds.length > 0 &&
    [...row.rounds, ...bare.rounds].every((r) => r.cpuUs !== undefined);
  if (!paired) return row.cpuUs - bare.cpuUs;
  return median(row.rounds.map((r, i) => r.cpuUs! - bare.rounds[i]!.cpuUs!));
}
