// `npm run bench`: every scenario (bench/lib/scenarios.ts) served by its own process on 127.0.0.1 and
// loaded with autocannon from this one, interleaved (A B C ... A B C ...) for three rounds, so a slow
// moment of a shared machine spreads over all scenarios instead of landing on one. Prints a markdown
// table and writes latest.md, latest.json (every round's numbers) and latest.svg to --out.
//
//   npm run bench -- --quick                    (1 s per measurement: two to three minutes, for CI)
//   npm run bench -- --only bare-koa,stoat-redis-ro --duration 5 --rounds 3 --connections 50 --out DIR
//   npm run bench -- --readme                   (also puts the table in docs/performance.md's bench block)
//   npm run bench -- --brackets                 (ratios against baselines measured around each measurement)
//   npm run bench -- --from bench/results/latest.json [--readme]
//                                               (no measuring: the report made again from a run's rounds)
// --out defaults to bench/results; paths given are taken from where npm was started (the root, usually).

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "redis";
import { baselinesOf, bracketed, sliceSeconds } from "./lib/bracket.js";
import { type Facts, gatherFacts, renderFacts } from "./lib/facts.js";
import { type HotState, hotState, settleHot } from "./lib/hot.js";
import { load, type RoundResult, seed } from "./lib/load.js";
import { fromCommandLine, PERFORMANCE_PAGE, RESULTS_DIR } from "./lib/paths.js";
import { type ServerProcess, startServer, terminate } from "./lib/process.js";
import { replaceBlock } from "./lib/readme.js";
import { pickScenarios, type Scenario } from "./lib/scenarios.js";
import { flagged, type Summary, summarise } from "./lib/stats.js";
import { renderChart } from "./lib/svg.js";
import { renderTable } from "./lib/table.js";
import { checkTargets, renderTargets } from "./lib/targets.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", default: "" },
    duration: { type: "string" },
    warmup: { type: "string" },
    rounds: { type: "string", default: "3" },
    // 50: enough requests in flight to keep a single-threaded server busy while it waits on Redis or a
    // database, few enough that p99 still says something about one request (autocannon's default is 10).
    connections: { type: "string", default: "50" },
    out: { type: "string", default: RESULTS_DIR },
    readme: { type: "boolean", default: false },
    // Baselines bracket each measurement (lib/bracket.ts): opt-in, see bench/NOTES.md ("Brackets: tried").
    brackets: { type: "boolean", default: false },
    // A run's latest.json: its rounds, facts and settings reported again (after a change to the report).
    from: { type: "string" },
  },
});

const duration = Number(values.duration ?? (values.quick ? 1 : 10));
const warmup = Number(values.warmup ?? (values.quick ? 0.5 : 1));
const rounds = Number(values.rounds);
const connections = Number(values.connections);
for (const [flag, value] of Object.entries({ duration, warmup, rounds, connections }))
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`--${flag} must be a positive number`);
const out = fromCommandLine(values.out!);
const scenarios = pickScenarios(values.only ? values.only.split(",").map((id) => id.trim()) : []);
const prefix = `bench-${Date.now().toString(36)}-${process.pid}`;
const redisUrl = process.env.REDIS_URL?.trim() || "redis://127.0.0.1:6379";
const postgresUrl = process.env.DATABASE_URL_PG?.trim() || "postgres://postgres@127.0.0.1:5432/test";
const log = (line: string) => process.stderr.write(`${line}\n`);
const began = Date.now();
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

/** Deletes the run's Redis keys (every server's keys start with the run's prefix). */
async function cleanRedis(): Promise<void> {
  const client = createClient({ url: redisUrl });
  client.on("error", () => {});
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 }))
      if (keys.length > 0) await client.del(keys);
  } finally {
    client.destroy();
  }
}

async function run(): Promise<Summary[]> {
  const servers = new Map<string, ServerProcess>();
  const env = {
    NODE_ENV: "production",
    BENCH_PREFIX: prefix,
    BENCH_SECRET: `bench-run-${"0123456789abcdef".repeat(4)}`,
  };
  try {
    // One session per connection, made once: each connection keeps its cookies from one measurement to the
    // next, as a browser would, so no measurement pays for the (slow, on a database) session creation.
    // A hot scenario's connections all get the one session, seeded once; after each of its measurements the
    // session is read and its lost updates counted (lib/hot.ts).
    const jars = new Map<string, string[]>();
    const hots = new Map<string, HotState>();
    const measure = async (id: string, time: number): Promise<RoundResult> => {
      const { base, child } = servers.get(id)!;
      const hot = hots.get(id);
      const result = await load(base, time, connections, jars.get(id), child.pid, hot);
      if (!hot) return result;
      return { ...result, lost: await settleHot(base, jars.get(id)![0]!, hot) };
    };
    const prepare = async (s: Scenario) => {
      const server = await startServer(s.script, { ...env, ...s.env }, s.id, 60_000);
      servers.set(s.id, server);
      if (s.hot) {
        const [shared] = await seed(server.base, 1);
        jars.set(
          s.id,
          Array.from({ length: connections }, () => shared!),
        );
        hots.set(s.id, hotState(connections));
      } else {
        jars.set(s.id, s.session ? await seed(server.base, connections) : []);
      }
      await measure(s.id, warmup); // not measured: the JIT and the connections get going
    };
    // Boot, seed and warm-up a few at a time: fifteen tsx boots at once on a small machine take longer.
    const queue = [...scenarios];
    const worker = async () => {
      for (let s = queue.shift(); s; s = queue.shift()) await prepare(s);
    };
    const started = await Promise.allSettled(Array.from({ length: availableParallelism() + 1 }, worker));
    const failed = started.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    log(`${servers.size} servers up, seeded and warmed up (${warmup} s each) after ${seconds(began)} s`);
    const results = new Map<string, RoundResult[]>(scenarios.map((s) => [s.id, []]));
    const running = new Set(scenarios.map((s) => s.id));
    for (let round = 1; round <= rounds; round++) {
      for (const s of scenarios) {
        const result = await bracketed(
          measure,
          s.id,
          values.brackets ? baselinesOf(s, running) : [],
          duration,
        );
        results.get(s.id)!.push(result);
        const problems = flagged(result) ? ` (${result.non2xx} non-2xx, ${result.errors} errors)` : "";
        const lost = result.lost === undefined ? "" : `, ${result.lost} lost of ${result.acked} acknowledged`;
        log(
          `round ${round}/${rounds} ${s.id}: ${Math.round(result.rps)} req/s${lost}${problems} (${seconds(began)} s)`,
        );
      }
    }
    return summarise(scenarios, results);
  } finally {
    await Promise.all([...servers.values()].map((server) => terminate(server.child)));
    if (scenarios.some((s) => s.services.includes("redis")))
      await cleanRedis().catch((error: unknown) => log(`could not delete the run's Redis keys: ${error}`));
  }
}

/** A saved run (`--from`): its facts and settings as recorded, its rows summarised again from their rounds. */
function reported(file: string): { facts: Facts; settings: string; rows: Summary[] } {
  const saved = JSON.parse(readFileSync(file, "utf8")) as { facts: Facts; settings: string; rows: Summary[] };
  const ids = saved.rows.map((row) => row.id);
  const rounds = new Map(saved.rows.map((row) => [row.id, row.rounds]));
  return { facts: saved.facts, settings: saved.settings, rows: summarise(pickScenarios(ids), rounds) };
}

/** This run's settings, as the report states them. */
const measuredSettings = () =>
  `${connections} connections, ${duration} s per measurement after a ${warmup} s warm-up, ${rounds} rounds ` +
  "interleaved, " +
  (values.brackets
    ? `each bracketed by its baselines (${sliceSeconds(duration)} s before and after), `
    : "ratios against each round's baseline measurement, ") +
  "one server process per scenario (NODE_ENV=production), autocannon in another";

async function measured(): Promise<{ facts: Facts; settings: string; rows: Summary[] }> {
  const [facts, rows] = await Promise.all([gatherFacts(redisUrl, postgresUrl), run()]);
  return { facts, rows, settings: measuredSettings() };
}

const { facts, rows, settings } = values.from ? reported(fromCommandLine(values.from)) : await measured();
const table = renderTable(rows);
const targets = checkTargets(rows);
const targetTable = renderTargets(targets);
const about = renderFacts(facts, settings);
const chart = renderChart(
  rows
    .filter((r) => r.vsKoa !== undefined)
    .map((r) => ({ label: r.label, ratio: r.vsKoa!, flagged: flagged(r) })),
);

mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, "latest.md"),
  `# Benchmark\n\n${about}\n\n${table}\n\n${targetTable}\n\n![ratios](latest.svg)\n`,
);
writeFileSync(join(out, "latest.json"), `${JSON.stringify({ facts, settings, rows, targets }, null, 2)}\n`);
writeFileSync(join(out, "latest.svg"), chart);
console.log(`${table}\n\n${targetTable}\n\n${about}`);
if (values.readme) {
  // The chart's link, from the page's folder (../bench/results/latest.svg for the default --out).
  const svg = relative(dirname(PERFORMANCE_PAGE), join(out, "latest.svg"));
  const block = `${table}\n\n${targetTable}\n\n${about}\n\n![ratios](${svg})`;
  writeFileSync(PERFORMANCE_PAGE, replaceBlock(readFileSync(PERFORMANCE_PAGE, "utf8"), block));
}
const broken = rows.filter(flagged).map((r) => r.id);
if (broken.length > 0) log(`⚠ non-2xx answers or errors in: ${broken.join(", ")} (see the Problems column)`);
log(`done in ${seconds(began)} s; wrote ${out}/latest.{md,json,svg}`);
