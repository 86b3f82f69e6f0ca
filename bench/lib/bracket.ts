// Baselines measured around each scenario, for its ratios. One round of all fifteen scenarios takes over two
// minutes, and on a shared host the machine's speed moves within that time (one run here had bare Koa at
// 17,800-31,800 req/s from round to round, and a scenario "faster" than bare Koa in one round): pairing a
// scenario with the baseline measured once per round compares moments minutes apart. So each measurement is
// bracketed: its baselines run for a short slice right before it and again right after, and its ratio is
// taken against the mean of the two (a drift over the measurement cancels to first order).
//
// Opt-in (`npm run bench -- --brackets`): in the one full run made with it, the bare Koa brackets around
// every Redis scenario read ~20% below bare Koa's own measurements of the same rounds, round after round,
// while those around the cookie scenarios agreed within a few percent. Until that is explained, a ratio that
// depends on it is not one to publish (bench/NOTES.md, third pass).

import type { RoundResult } from "./load.js";
import { BARE_KOA, type Scenario } from "./scenarios.js";

/** The baselines `scenario`'s ratios divide by, among the scenarios of this run: bare Koa, its Redis handler. */
export function baselinesOf(scenario: Scenario, running: ReadonlySet<string>): string[] {
  return [BARE_KOA, scenario.redisBaseline].filter(
    (id): id is string => id !== undefined && id !== scenario.id && running.has(id),
  );
}

/** Each baseline's slice before and after a measurement: a quarter of it, at least 0.25 s. */
export function sliceSeconds(duration: number): number {
  return Math.max(0.25, duration / 4);
}

/**
 * Measures `scenario` for `duration` between two slices of each of `baselines`, and keeps in the result the
 * baselines' req/s (the mean of before and after). The baselines' slices are not part of their own rows.
 */
export async function bracketed(
  measure: (id: string, seconds: number) => Promise<RoundResult>,
  scenario: string,
  baselines: readonly string[],
  duration: number,
): Promise<RoundResult> {
  const slice = sliceSeconds(duration);
  const before: number[] = [];
  for (const id of baselines) before.push((await measure(id, slice)).rps);
  const result = await measure(scenario, duration);
  const around: Record<string, number> = {};
  for (const [i, id] of baselines.entries()) around[id] = (before[i]! + (await measure(id, slice)).rps) / 2;
  return baselines.length > 0 ? { ...result, baselines: around } : result;
}
