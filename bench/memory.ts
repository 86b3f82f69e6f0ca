// The memory run: N requests against one app process per store, each connection
// keeping its session cookie and starting a new session every K requests, while the server's RSS is read
// from /proc/<pid>/status every 500 ms. The memory store must stay bounded (its LRU caps N/K sessions at
// maxEntries), the cookie store flat. Writes memory.md and memory.svg; exits 1 on a FAIL.
// `npm run bench:memory -- --requests 1000000 --store both --every 10 --connections 10 --out bench/results`
// (--out defaults to bench/results; a path given is taken from where npm was started).

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { startApp } from "./faults/lib.js";
import { lineChart } from "./lib/line_chart.js";
import { memoryMarkdown } from "./lib/memory_report.js";
import {
  curveTable,
  type Judgement,
  judgeBounded,
  judgeFlat,
  mib,
  peakMiB,
  type Sample,
  windowMedianMiB,
} from "./lib/memory_rules.js";
import { fromCommandLine, RESULTS_DIR } from "./lib/paths.js";

export type MemoryStore = "memory" | "cookie";

export interface MemoryOptions {
  requests: number;
  stores: MemoryStore[];
  every: number;
  connections: number;
  out: string;
  /** Passed to the memory store only when given; otherwise the app runs on its default. */
  maxEntries: number | undefined;
}

export interface StoreRun {
  store: MemoryStore;
  maxEntries: number | undefined;
  samples: Sample[];
  baselineMiB: number;
  peakMiB: number;
  firstMiB: number;
  lastMiB: number;
  table: { requests: number; rssMiB: number }[];
  requests: number;
  /** Responses answering `previous: 0`: the server made a new session for them. */
  sessionsCreated: number;
  /** What the every-K logic should make: per connection, ceil(its requests / K). */
  sessionsExpected: number;
  /** Responses whose counter was not the request's place in its cycle: a live session was lost. */
  sessionsLost: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  requestsPerSecond: number;
  seconds: number;
  /** The app closed by itself on SIGTERM with no errors emitted. */
  cleanStop: boolean;
  judgement: Judgement;
}

const SECRET = "memory-bench-secret-0123456789abcdef0123456789abcdef0123456789abcd";
const COOKIE = "_stoat_session";
const SET_COOKIE = new RegExp(`^${COOKIE}=([^;]*)`);
const SAMPLE_MS = 500;
/** The memory store's maxEntries when none is given: Stoat's documented default (docs/stores.md). */
const DEFAULT_MAX_ENTRIES = 10_000;

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** Autocannon's own split of `amount` over connections (lib/run.js distributeNums). */
function perConnection(amount: number, connections: number): number[] {
  return Array.from(
    { length: connections },
    (_, i) => Math.floor(amount / connections) + (i + 1 <= amount % connections ? 1 : 0),
  );
}

interface Context {
  cookie?: string;
}

/**
 * K copies of GET /bump. Autocannon keeps one context per connection and walks the list in order, so
 * request `position` is that connection's `position`-th request of its current session: position 0 sends no
 * cookie (a new session), the others send the cookie the previous response set. When the list wraps,
 * autocannon also resets the context, which drops the cookie a second time.
 */
function cycle(every: number, counters: { done: number; created: number; lost: number }) {
  return Array.from({ length: every }, (_, position) => ({
    method: "GET" as const,
    path: "/bump",
    // Never mutate `req.headers`: autocannon shares it with the request object every connection builds from.
    setupRequest: (req: autocannon.Request, context: object) => {
      const c = context as Context;
      if (position === 0) c.cookie = undefined;
      return c.cookie ? { ...req, headers: { ...req.headers, cookie: `${COOKIE}=${c.cookie}` } } : req;
    },
    onResponse: (status: number, body: string, context: object, headers: IncomingHttpHeaders | undefined) => {
      counters.done++;
      if (status < 200 || status >= 300) return;
      const previous = Number(/"previous":(\d+)/.exec(body)?.[1] ?? -1);
      if (previous === 0) counters.created++;
      if (previous !== position) counters.lost++;
      // Header names arrive as the server spelled them; a repeated header comes as an array.
      for (const [name, value] of Object.entries(headers ?? {})) {
        if (name.toLowerCase() !== "set-cookie") continue;
        for (const line of [value].flat() as string[]) {
          const m = SET_COOKIE.exec(line);
          if (m) (context as Context).cookie = m[1] || undefined;
        }
      }
    },
  }));
}

export async function runStore(store: MemoryStore, o: MemoryOptions): Promise<StoreRun> {
  const maxEntries = store === "memory" ? o.maxEntries : undefined;
  const app = await startApp(store, { secret: SECRET, ...(maxEntries ? { maxEntries } : {}) });
  const pid = app.child.pid!;
  const counters = { done: 0, created: 0, lost: 0 };
  const samples: Sample[] = [{ ms: -1, requests: 0, rssKiB: rssKiB(pid) }];
  const started = Date.now();
  let reported = 0;
  const sample = () => {
    samples.push({ ms: Date.now() - started, requests: counters.done, rssKiB: rssKiB(pid) });
    const tenth = Math.floor((counters.done / o.requests) * 10);
    if (tenth > reported && tenth < 10) {
      reported = tenth;
      const s = samples[samples.length - 1]!;
      console.log(`  ${store}: ${s.requests} requests, RSS ${mib(s.rssKiB).toFixed(1)} MiB`);
    }
  };
  const timer = setInterval(sample, SAMPLE_MS);
  let result: autocannon.Result;
  try {
    result = await autocannon({
      url: app.base,
      connections: o.connections,
      amount: o.requests,
      timeout: 10,
      requests: cycle(o.every, counters),
    });
    sample(); // the end of the run, before the server is asked to stop
  } catch (error) {
    await app.stop();
    throw error;
  } finally {
    clearInterval(timer);
  }
  const stopped = await app.stop();
  const total = o.requests;
  const baselineMiB = mib(samples[0]!.rssKiB);
  const effectiveMax = maxEntries ?? DEFAULT_MAX_ENTRIES;
  return {
    store,
    maxEntries: store === "memory" ? effectiveMax : undefined,
    samples,
    baselineMiB,
    peakMiB: peakMiB(samples),
    firstMiB: windowMedianMiB(samples, total, 0, 0.2).mib,
    lastMiB: windowMedianMiB(samples, total, 0.8, 1).mib,
    table: curveTable(samples, total),
    requests: counters.done,
    sessionsCreated: counters.created,
    sessionsExpected: perConnection(total, o.connections).reduce((a, n) => a + Math.ceil(n / o.every), 0),
    sessionsLost: counters.lost,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    requestsPerSecond: result.requests.total / Math.max(result.duration, 1e-3),
    seconds: result.duration,
    cleanStop: stopped.clean && Object.keys(stopped.errors).length === 0,
    judgement:
      store === "memory"
        ? judgeBounded(samples, total, baselineMiB, effectiveMax)
        : judgeFlat(samples, total),
  };
}

/** PASS needs the rule's PASS (or a SKIP on a run too short to judge) and a clean run. */
export function passed(r: StoreRun): boolean {
  const clean = r.non2xx === 0 && r.errors === 0 && r.timeouts === 0 && r.sessionsLost === 0 && r.cleanStop;
  return clean && r.judgement.verdict !== "FAIL";
}

export function parseOptions(argv: string[]): MemoryOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      requests: { type: "string", default: "1000000" },
      store: { type: "string", default: "both" },
      every: { type: "string", default: "10" },
      connections: { type: "string", default: "10" },
      out: { type: "string", default: RESULTS_DIR },
      "max-entries": { type: "string" },
    },
  });
  const whole = (name: string, text: string | undefined) => {
    const n = Number(text);
    if (!(Number.isInteger(n) && n > 0))
      throw new Error(`--${name} takes a positive whole number, got ${text}`);
    return n;
  };
  const stores: Record<string, MemoryStore[]> = {
    memory: ["memory"],
    cookie: ["cookie"],
    both: ["memory", "cookie"],
  };
  if (!stores[values.store!]) throw new Error(`--store: memory, cookie or both, got ${values.store}`);
  const o: MemoryOptions = {
    requests: whole("requests", values.requests),
    stores: stores[values.store!]!,
    every: whole("every", values.every),
    connections: whole("connections", values.connections),
    out: fromCommandLine(values.out!),
    maxEntries: values["max-entries"] === undefined ? undefined : whole("max-entries", values["max-entries"]),
  };
  if (o.connections > o.requests) throw new Error("--connections cannot be more than --requests");
  return o;
}

function summary(r: StoreRun): string {
  const ok = passed(r) ? "PASS" : "FAIL";
  return (
    `${ok} ${r.store}: ${r.requests} requests, ${r.sessionsCreated} sessions (expected ${r.sessionsExpected}), ` +
    `lost ${r.sessionsLost}, non-2xx ${r.non2xx}, errors ${r.errors + r.timeouts}, ` +
    `${Math.round(r.requestsPerSecond)} req/s, peak ${r.peakMiB.toFixed(1)} MiB; ${r.judgement.verdict}: ` +
    r.judgement.reason
  );
}

/** memory.md and memory.svg for the stores run so far. */
function writeResults(o: MemoryOptions, runs: readonly StoreRun[]): void {
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, "memory.md"), memoryMarkdown(o, runs, summary));
  const chart = lineChart({
    title: `Server RSS, ${o.requests} requests, a new session every ${o.every}`,
    xLabel: "requests done",
    yLabel: "RSS (MiB)",
    series: runs.map((r) => ({
      name: r.store === "memory" ? `memory (maxEntries ${r.maxEntries})` : "cookie",
      points: r.samples.map((s) => [s.requests, mib(s.rssKiB)] as const),
    })),
  });
  writeFileSync(join(o.out, "memory.svg"), chart);
}

/**
 * Runs every store in turn and prints a line per store. memory.md and memory.svg in `out` are rewritten
 * after each store, so a long run stopped half-way keeps the stores it finished.
 */
export async function runMemory(argv: string[]): Promise<{ runs: StoreRun[]; pass: boolean }> {
  const o = parseOptions(argv);
  const runs: StoreRun[] = [];
  for (const store of o.stores) {
    console.log(
      `${store}: ${o.requests} requests, new session every ${o.every}, ${o.connections} connections`,
    );
    const r = await runStore(store, o);
    console.log(summary(r));
    runs.push(r);
    writeResults(o, runs);
  }
  return { runs, pass: runs.every(passed) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runMemory(process.argv.slice(2)).then(
    ({ pass }) => {
      process.exitCode = pass ? 0 : 1;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
