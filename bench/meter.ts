// The lost-update meter: one session, N concurrent requests each setting its own key after a
// random 0-10 ms pause in the handler, then one read: `lost = N - found` (a 409 counts as lost too; the
// answers are printed beside it). `npm run meter -- --store redis --n 200` (--store all, or a list;
// --apps K shares the store between K app instances, as K processes would).

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Application, Handler, type RoutesDefinition } from "stoat";

export const METER_STORES = [
  "memory",
  "redis",
  "memcache",
  "sqlite",
  "postgres",
  "mysql",
  "database",
] as const;
export type MeterStore = (typeof METER_STORES)[number];

export interface MeterResult {
  store: MeterStore;
  n: number;
  /** App instances sharing the store (stand-ins for processes: each has its own connections and queue). */
  apps: number;
  /** Keys found on the final read. */
  found: number;
  lost: number;
  /** Answers by status code ("200": 198, "409": 2). */
  statuses: Record<string, number>;
}

const SECRET = "meter-secret-0123456789abcdef0123456789abcdef0123456789abcdef01234";

class Meter extends Handler {
  async seed() {
    this.session.set("seed", "0");
    this.json({ ok: true });
  }
  async set() {
    await sleep(Math.random() * 10);
    this.session.set(this.params.k ?? "k", this.params.v ?? "1");
    this.json({ ok: true });
  }
  async read() {
    this.json(this.session.toJSON());
  }
}

const routes: RoutesDefinition = (r) => {
  for (const action of ["seed", "set", "read"]) r.get(`/${action}`, Meter, action);
};

function env(name: string, fallback: string): string {
  return process.env[name]?.trim() || fallback;
}

/** The store's options, from the same variables the specs read (spec/support/services.ts). */
function storeOptions(store: MeterStore, dir: string, run: string): Record<string, unknown> {
  switch (store) {
    case "memory":
      return {};
    case "redis":
      return { url: env("REDIS_URL", "redis://127.0.0.1:6379"), namespace: `meter-${run}` };
    case "memcache":
      return { memcacheServer: env("MEMCACHE_SERVER", "127.0.0.1:11211"), namespace: `meter-${run}` };
    case "sqlite":
      return { database: join(dir, "keyv.sqlite3") };
    case "postgres":
      return {
        url: env("DATABASE_URL_PG", "postgres://postgres@127.0.0.1:5432/test"),
        namespace: `meter-${run}`,
      };
    case "mysql":
      return {
        url: env("DATABASE_URL_MYSQL", "mysql://root@127.0.0.1:3306/test"),
        namespace: `meter-${run}`,
      };
    case "database":
      return {
        url: process.env.METER_DATABASE_URL ?? `sqlite://${join(dir, "database.sqlite3")}`,
        table: `meter_${run}`,
      };
  }
}

/**
 * Runs the meter once against `store` with `n` concurrent writers, over real HTTP servers: `apps` app
 * instances share the store (requests go round robin), as processes behind a load balancer would. The
 * memory store lives in one process: it always runs one app.
 */
export async function measureLostUpdates(store: MeterStore, n: number, apps = 1): Promise<MeterResult> {
  const dir = mkdtempSync(join(tmpdir(), "stoat-meter-"));
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const count = store === "memory" ? 1 : apps;
  const made = Array.from({ length: count }, () =>
    Application.configure((config) => {
      config.routes = routes;
      config.session.store = store;
      config.session.options = { secret: SECRET, ...storeOptions(store, dir, run) };
    }),
  );
  const servers: Server[] = [];
  try {
    if (store === "database") await made[0]!.sessions.install();
    const bases: string[] = [];
    for (const app of made) {
      const server = createServer(app.callback());
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      bases.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
    const base = bases[0]!;
    const seeded = await fetch(`${base}/seed`);
    const id = /_stoat_session=([^;]*)/.exec(seeded.headers.get("set-cookie") ?? "")?.[1];
    if (!id) throw new Error(`meter (${store}): the seed request set no session cookie (${seeded.status})`);
    const headers = { cookie: `_stoat_session=${id}` };
    const statuses: Record<string, number> = {};
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await fetch(`${bases[i % bases.length]}/set?k=k${i}&v=${i}`, { headers });
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }),
    );
    const data = (await (await fetch(`${base}/read`, { headers })).json()) as Record<string, string>;
    let found = 0;
    for (let i = 0; i < n; i++) if (data[`k${i}`] === String(i)) found++;
    return { store, n, apps: count, found, lost: n - found, statuses };
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    await Promise.all(made.map((app) => app.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatResult(r: MeterResult): string {
  const answers = Object.entries(r.statuses)
    .map(([status, count]) => `${count}x${status}`)
    .join(" ");
  return `${r.store.padEnd(9)} n = ${r.n}  apps = ${r.apps}  found = ${r.found}  lost = ${r.lost}  (${answers})`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: "string", default: "all" },
      n: { type: "string", default: "200" },
      apps: { type: "string", default: "1" },
    },
  });
  const n = Number(values.n);
  const apps = Number(values.apps);
  if (!(Number.isInteger(apps) && apps > 0))
    throw new Error(`--apps takes a positive whole number, got ${values.apps}`);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`--n takes a positive whole number, got ${values.n}`);
  const stores =
    values.store === "all"
      ? [...METER_STORES]
      : (values.store!.split(",").map((s) => s.trim()) as MeterStore[]);
  for (const store of stores) {
    if (!METER_STORES.includes(store)) throw new Error(`--store: one of ${METER_STORES.join(", ")} or all`);
    try {
      console.log(formatResult(await measureLostUpdates(store, n, apps)));
    } catch (error) {
      console.log(`${store.padEnd(9)} failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
