// The four fault runs. Each starts what it needs (services and app processes of its
// own), drives bounded load, injects the fault, checks, cleans up, and returns one result line.

import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Answer,
  type AppProcess,
  Client,
  freePort,
  kill,
  load,
  PrivatePostgres,
  removeDir,
  startApp,
  startMemcached,
  startRedis,
  tally,
  tempDir,
} from "./lib.js";

export interface ScenarioResult {
  name: string;
  pass: boolean;
  /** The numbers, then what failed (if anything). */
  line: string;
}
export interface RunOptions {
  short: boolean;
}

const SECRET_A = "fault-secret-A-0123456789abcdef0123456789abcdef0123456789abcdef01";
const SECRET_B = "fault-secret-B-fedcba9876543210fedcba9876543210fedcba9876543210fe";

function result(name: string, numbers: string, failures: string[]): ScenarioResult {
  const line = `${failures.length === 0 ? "PASS" : "FAIL"} ${name}: ${numbers}${failures.length ? ` -- ${failures.join("; ")}` : ""}`;
  return { name, pass: failures.length === 0, line };
}

interface WriteRun {
  answers: Answer[];
  downAt: number;
  upAt: number;
  missing: number;
  acked: number;
  unreadable: number;
}

/**
 * Clients each write their own keys (one session per client) while `outage` takes the store down and
 * brings it back; then every acknowledged write is read back.
 */
async function writesThroughOutage(
  app: AppProcess,
  o: RunOptions,
  outage: { down(): Promise<void>; up(): Promise<void> },
): Promise<WriteRun> {
  const total = o.short ? 5000 : 20_000;
  const clients = Array.from({ length: o.short ? 8 : 32 }, () => new Client());
  const acked = clients.map(() => new Map<string, string>());
  const answers: Answer[] = [];
  let downAt = Number.POSITIVE_INFINITY;
  let upAt = Number.POSITIVE_INFINITY;
  const chaos = (async () => {
    await sleep(total * 0.35);
    downAt = Date.now();
    await outage.down();
    await sleep(1000);
    await outage.up();
    upAt = Date.now();
  })();
  // The load runs for `total` ms and, however long the store took to come back, on until 1.5 s after the
  // first 200 that followed (the judge wants a second of recovered load), bounded by 15 s more.
  const started = Date.now();
  let recoveredAt = Number.POSITIVE_INFINITY;
  const enough = () => Date.now() - started >= total && Date.now() >= recoveredAt + 1500;
  await load(
    clients.length,
    total + 15_000,
    100_000,
    async (c, i) => {
      const a = await clients[c]!.get(`${app.base}/write?k=c${c}k${i}&v=${i}`);
      answers.push(a);
      if (a.status === 200 && a.at >= upAt) recoveredAt = Math.min(recoveredAt, a.at);
      if (a.status >= 200 && a.status < 300) acked[c]!.set(`c${c}k${i}`, String(i));
      else await sleep(20);
    },
    enough,
  );
  await chaos;
  // Read back every acknowledged write (the store is up again; a few tries in case it is still reconnecting).
  let missing = 0;
  let unreadable = 0;
  for (const [c, client] of clients.entries()) {
    if (acked[c]!.size === 0) continue;
    let data: Record<string, string> | undefined;
    for (let t = 0; t < 20 && !data; t++) {
      const a = await client.get(`${app.base}/read`);
      if (a.status === 200) data = JSON.parse(a.body) as Record<string, string>;
      else await sleep(100);
    }
    if (!data) {
      unreadable++;
      missing += acked[c]!.size;
      continue;
    }
    for (const [k, v] of acked[c]!) if (data[k] !== v) missing++;
  }
  const ackedCount = acked.reduce((n, m) => n + m.size, 0);
  return { answers, downAt, upAt, missing, acked: ackedCount, unreadable };
}

/** The checks shared by the Redis and PostgreSQL outages; returns the numbers and the failures. */
function judgeOutage(run: WriteRun): { numbers: string; failures: string[] } {
  const failures: string[] = [];
  const bad = run.answers.filter((a) => a.status !== 200 && a.status !== 503);
  if (bad.length) failures.push(`${bad.length} answers neither 200 nor 503 (${tally(bad)})`);
  const noRetry = run.answers.filter((a) => a.status === 503 && !/^\d+$/.test(a.retryAfter ?? ""));
  if (noRetry.length) failures.push(`${noRetry.length} 503s without Retry-After`);
  const during = run.answers.filter((a) => a.at >= run.downAt && a.at < run.upAt);
  const down503 = during.filter((a) => a.status === 503).length;
  if (down503 === 0) failures.push("no 503 during the outage (the fault was not seen)");
  const after = run.answers.filter((a) => a.at >= run.upAt);
  const firstOk = after.find((a) => a.status === 200);
  if (!firstOk) failures.push("no 200 after the store came back");
  const recoveryMs = firstOk ? firstOk.at - run.upAt : Number.NaN;
  // Recovered: a second after the first 200, everything is 200 again (and the run went on that long).
  const settled = firstOk ? run.answers.filter((a) => a.at >= firstOk.at + 1000) : [];
  if (firstOk && settled.length === 0) failures.push("the run ended before a second of recovered load");
  const lateFail = settled.filter((a) => a.status !== 200).length;
  if (lateFail) failures.push(`${lateFail} non-200 answers a second after recovery`);
  if (run.missing)
    failures.push(`${run.missing} acknowledged writes missing (${run.unreadable} sessions unreadable)`);
  const outageMs = run.upAt - run.downAt;
  const numbers =
    `${run.answers.length} requests (${tally(run.answers)}), outage ${outageMs} ms: ${during.length} requests, ` +
    `${down503} x 503; first 200 ${recoveryMs} ms after restart; ${run.acked} acked writes, ${run.missing} missing`;
  return { numbers, failures };
}

/** 1. Redis SIGKILLed under load and restarted on the same port ~1 s later (AOF, fsync always). */
export async function redisKill(o: RunOptions): Promise<ScenarioResult> {
  const name = "redis-kill";
  const dir = tempDir("redis");
  let redis: ChildProcess | undefined;
  let app: AppProcess | undefined;
  try {
    const port = await freePort();
    redis = await startRedis(port, dir);
    app = await startApp("redis", { secret: SECRET_A, url: `redis://127.0.0.1:${port}`, timeout: 0.5 });
    const run = await writesThroughOutage(app, o, {
      down: async () => kill(redis, "SIGKILL"),
      up: async () => {
        redis = await startRedis(port, dir);
      },
    });
    const { numbers, failures } = judgeOutage(run);
    const alive = app.alive();
    if (!alive) failures.push("the app process died");
    const stop = await app.stop();
    if (!stop.clean) failures.push(`the app did not close cleanly (exit ${stop.code})`);
    return result(name, `${numbers}; app alive ${alive}, closed clean ${stop.clean}`, failures);
  } finally {
    if (app?.alive()) await kill(app.child);
    await kill(redis);
    removeDir(dir);
  }
}

/** 2. memcached with 2 MB of memory (its minimum with 1 MB items) and many sessions: evicted sessions read as new, never a 5xx. */
export async function memcachedEvict(o: RunOptions): Promise<ScenarioResult> {
  const name = "memcached-evict";
  let memcached: ChildProcess | undefined;
  let app: AppProcess | undefined;
  try {
    const port = await freePort();
    memcached = await startMemcached(port, 2);
    app = await startApp("memcache", { secret: SECRET_A, memcacheServer: `127.0.0.1:${port}` });
    const base = app.base;
    const total = o.short ? 3000 : 15_000;
    const made: { client: Client; key: string }[] = [];
    const answers: Answer[] = [];
    let survived = 0;
    let evicted = 0;
    let fresh = 0;
    const failures: string[] = [];
    await load(o.short ? 8 : 32, total, 10_000, async (c, i) => {
      if (i % 2 === 0 || made.length === 0) {
        // A new session of ~16 KB (so 1 MB holds a few dozen).
        const client = new Client();
        const key = `c${c}s${i}`;
        const a = await client.get(`${base}/write?k=${key}&v=1&pad=16000`);
        answers.push(a);
        if (a.status === 200 && client.cookie) made.push({ client, key });
        return;
      }
      // An older session, picked at random: its data, or (evicted) a clean empty session.
      const s = made[Math.floor(Math.random() * made.length)]!;
      const before = s.client.cookie;
      const a = await s.client.get(`${base}/read`);
      answers.push(a);
      if (a.status !== 200) return;
      const data = JSON.parse(a.body) as Record<string, string>;
      const keys = Object.keys(data);
      if (keys.length === 0) {
        evicted++;
        // Writing to an evicted session starts a new one under a fresh id (strict), with only the new data.
        const w = await s.client.get(`${base}/write?k=${s.key}&v=1&pad=16000`);
        answers.push(w);
        if (w.status === 200) {
          if (s.client.cookie && s.client.cookie !== before) fresh++;
          else failures.push("a write on an evicted session kept its old id");
        }
      } else if (data[s.key] === "1" && keys.every((k) => k === s.key || k === "pad")) survived++;
      else failures.push(`a session read foreign data: ${keys.slice(0, 3).join(",")}`);
    });
    const bad = answers.filter((a) => a.status !== 200);
    if (bad.length) failures.push(`${bad.length} answers not 200 (${tally(bad)})`);
    if (evicted === 0) failures.push("nothing was evicted (the fault was not seen)");
    const alive = app.alive();
    if (!alive) failures.push("the app process died");
    const stop = await app.stop();
    if (!stop.clean) failures.push(`the app did not close cleanly (exit ${stop.code})`);
    const numbers =
      `${answers.length} requests (${tally(answers)}), ${made.length} sessions made; re-reads: ` +
      `${survived} intact, ${evicted} evicted -> empty session (${fresh} rewritten under a fresh id)`;
    return result(name, numbers, [...new Set(failures)].slice(0, 5));
  } finally {
    if (app?.alive()) await kill(app.child);
    await kill(memcached);
  }
}

/** 3. A private PostgreSQL stopped (pg_ctl stop -m fast) under load and started again ~1 s later. */
export async function postgresStop(o: RunOptions): Promise<ScenarioResult[]> {
  const dir = tempDir("pg");
  const pg = new PrivatePostgres(dir, await freePort());
  const results: ScenarioResult[] = [];
  try {
    await pg.init();
    await pg.start();
    const poolSize = 5;
    for (const store of ["database", "postgres"] as const) {
      const name = `postgres-stop (${store})`;
      let app: AppProcess | undefined;
      try {
        const options: Record<string, unknown> = { secret: SECRET_A, url: pg.url, timeout: 1, poolSize };
        if (store === "database") options.table = "fault_sessions";
        else options.namespace = "fault";
        app = await startApp(store, options);
        const run = await writesThroughOutage(app, o, { down: () => pg.stop("fast"), up: () => pg.start() });
        const { numbers, failures } = judgeOutage(run);
        const connections = await pg.clientConnections();
        if (connections > poolSize) failures.push(`${connections} connections open, pool is ${poolSize}`);
        const alive = app.alive();
        if (!alive) failures.push("the app process died");
        const stop = await app.stop();
        if (!stop.clean) failures.push(`the app did not close cleanly (exit ${stop.code})`);
        let left = await pg.clientConnections();
        for (let t = 0; t < 20 && left > 0; t++) {
          await sleep(100);
          left = await pg.clientConnections();
        }
        if (left > 0) failures.push(`${left} connections left open after the app closed`);
        results.push(
          result(
            name,
            `${numbers}; pool after: ${connections}/${poolSize} connections, ${left} after close; closed clean ${stop.clean}`,
            failures,
          ),
        );
      } catch (error) {
        results.push(result(name, "did not run", [String(error)]));
      } finally {
        if (app?.alive()) await kill(app.child);
      }
    }
    return results;
  } finally {
    if (await pg.running().catch(() => false)) await pg.stop("immediate").catch(() => {});
    removeDir(dir);
  }
}

/**
 * 4. Secrets rotated across two app processes under load, behind clients that alternate between the
 * instances that are up (a load balancer draining the one restarting) and count their requests in the
 * session, so a lost session shows at once.
 *
 * - one-step (as asked): both on secret A; instance 2 restarts with secret B + oldSecret A, then
 *   instance 1 does too. While only one has B, the other cannot read what B wrote: those sessions are
 *   reset (counted, not a failure); before and after, none may be.
 * - two-step: both restart with secret A + oldSecret B (they read B, still write A), then both with
 *   secret B + oldSecret A. Every instance reads everything written at every moment: no session resets.
 *
 * Either way no answer may be other than 200. --short runs two-step on the cookie store only.
 */
export async function secretRotation(o: RunOptions): Promise<ScenarioResult[]> {
  const runs: { store: "cookie" | "redis"; plan: "one-step" | "two-step" }[] = [
    { store: "cookie", plan: "one-step" },
    { store: "redis", plan: "one-step" },
    { store: "cookie", plan: "two-step" },
  ];
  if (!o.short) runs.push({ store: "redis", plan: "two-step" });
  const results: ScenarioResult[] = [];
  for (const { store, plan } of runs) {
    const name = `secret-rotation (${store}, ${plan})`;
    const dir = tempDir("rot");
    let redis: ChildProcess | undefined;
    const apps: (AppProcess | undefined)[] = [];
    try {
      const extra: Record<string, unknown> = {};
      if (store === "redis") {
        const port = await freePort();
        redis = await startRedis(port, dir);
        extra.url = `redis://127.0.0.1:${port}`;
      }
      const onA = { ...extra, secret: SECRET_A };
      const readsB = { ...extra, secret: SECRET_A, oldSecret: SECRET_B };
      const onB = { ...extra, secret: SECRET_B, oldSecret: SECRET_A };
      // [instance, options, the phase once it is up]
      const steps: [number, Record<string, unknown>, Phase][] =
        plan === "one-step"
          ? [
              [1, onB, "mixed"],
              [0, onB, "B"],
            ]
          : [
              [1, readsB, "A"],
              [0, readsB, "A"],
              [1, onB, "B"],
              [0, onB, "B"],
            ];
      apps[0] = await startApp(store, onA);
      apps[1] = await startApp(store, onA);
      const up = [true, true];
      // A gap of load before each restart and after the last; the load stops a gap after the last restart
      // (capped at a minute, in case restarts hang).
      const gap = o.short ? 1000 : 5000;
      let stopAt = Number.POSITIVE_INFINITY;
      const failures: string[] = [];
      const answers: Answer[] = [];
      type Phase = "A" | "mixed" | "B";
      let phase: Phase = "A";
      const resets: Record<Phase, number> = { A: 0, mixed: 0, B: 0 };
      const served: Record<Phase, number> = { A: 0, mixed: 0, B: 0 };
      const closes: { clean: boolean; code: number | null; output: string }[] = [];
      const chaos = (async () => {
        for (const [i, options, next] of steps) {
          await sleep(gap);
          up[i] = false;
          const old = apps[i]!;
          if (!old.alive()) failures.push(`app ${i + 1} died`);
          closes.push(await old.stop());
          apps[i] = await startApp(store, options);
          up[i] = true;
          phase = next;
        }
        stopAt = Date.now() + gap;
      })();
      const clients = Array.from({ length: o.short ? 8 : 32 }, () => ({ client: new Client(), count: 0 }));
      await load(
        clients.length,
        60_000,
        100_000,
        async (c, i) => {
          const live = [0, 1].filter((k) => up[k]);
          const app = apps[live[i % live.length]!]!;
          const s = clients[c]!;
          const seen = phase;
          const a = await s.client.get(`${app.base}/bump`);
          answers.push(a);
          if (a.status !== 200) return;
          const where: Phase = seen === phase ? seen : "mixed";
          served[where]++;
          const { previous } = JSON.parse(a.body) as { previous: number };
          if (previous !== s.count) resets[where]++;
          s.count = previous + 1;
        },
        () => Date.now() >= stopAt,
      );
      await chaos;
      const bad = answers.filter((a) => a.status !== 200);
      if (bad.length) failures.push(`${bad.length} answers not 200 (${tally(bad)})`);
      if (resets.A + resets.B) failures.push(`${resets.A + resets.B} sessions reset outside a mixed window`);
      if (plan === "one-step" && served.mixed === 0) failures.push("no request in the mixed window");
      for (const app of apps) {
        if (!app?.alive()) failures.push("an app process died");
        closes.push(await app!.stop());
      }
      for (const c of closes.filter((c) => !c.clean))
        failures.push(
          `an app did not close cleanly (exit ${c.code}: ${c.output.trim().split("\n").slice(-3).join(" / ")})`,
        );
      const mixed =
        plan === "one-step" ? `${resets.mixed}/${served.mixed} while only one instance had B, ` : "";
      const numbers =
        `${answers.length} requests (${tally(answers)}), ${steps.length} restarts (clean ${closes.every((c) => c.clean)}); ` +
        `session resets/requests: ${resets.A}/${served.A} before B was written, ${mixed}${resets.B}/${served.B} after`;
      results.push(result(name, numbers, failures));
    } catch (error) {
      results.push(result(name, "did not run", [String(error)]));
    } finally {
      for (const app of apps) if (app?.alive()) await kill(app.child);
      await kill(redis);
      removeDir(dir);
    }
  }
  return results;
}

export const SCENARIOS: Record<string, (o: RunOptions) => Promise<ScenarioResult | ScenarioResult[]>> = {
  "redis-kill": redisKill,
  "memcached-evict": memcachedEvict,
  "postgres-stop": postgresStop,
  "secret-rotation": secretRotation,
};
