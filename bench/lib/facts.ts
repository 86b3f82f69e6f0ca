// What a run was measured on, for the report: date, machine, Node, the peers' versions (from their
// package.json in node_modules) and the servers' (asked, bounded; "unavailable" when one does not answer).

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import knex, { type Knex } from "knex";
import { createClient } from "redis";
import { BENCH_DIR } from "./paths.js";

/**
 * The folder of the Stoat the bench runs (`file:..` links it, so this is the checkout), or undefined when
 * it is not installed. Stoat's stores load their drivers and adapters from there, not from bench/.
 */
function stoatDir(): string | undefined {
  try {
    return dirname(createRequire(join(BENCH_DIR, "package.json")).resolve("stoat/package.json"));
  } catch {
    return undefined;
  }
}

export const PACKAGES = [
  "koa",
  "koa-session",
  "iron-session",
  "express",
  "express-session",
  "connect-redis",
  "connect-pg-simple",
  "fastify",
  "@fastify/secure-session",
  "redis",
  "@redis/client",
  "knex",
  "sqlite3",
  "pg",
  "autocannon",
] as const;

export interface Facts {
  date: string;
  cpu: string;
  cores: number;
  os: string;
  node: string;
  stoat: string;
  packages: Record<string, string>;
  redis: string;
  postgres: string;
  sqlite: string;
}

/** The version of `name` that code in `dir` would load (node_modules upward, as Node looks), if any. */
function versionFrom(dir: string | undefined, name: string): string | undefined {
  for (let at = dir; at; at = dirname(at) === at ? undefined : dirname(at)) {
    const path = join(at, "node_modules", name, "package.json");
    if (existsSync(path)) return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  }
  return undefined;
}

/** The bench's version of a package, and Stoat's beside it when Stoat loads another one. */
function packageVersion(name: string, stoat: string | undefined): string {
  const ours = versionFrom(BENCH_DIR, name);
  const stoats = versionFrom(stoat, name);
  if (ours && stoats && ours !== stoats) return `${ours} (Stoat's ${stoats})`;
  return ours ?? stoats ?? "missing";
}

/** Stoat's version and the commit it was measured at ("+ changes" when the tree differs from it). */
function stoatVersion(root: string | undefined): string {
  if (!root) return "missing";
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string })
    .version;
  try {
    const git = (args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
    const dirty = git(["status", "--porcelain", "--untracked-files=no"]) ? " + changes" : "";
    return `${version} (${git(["rev-parse", "--short", "HEAD"])}${dirty})`;
  } catch {
    return version;
  }
}

async function bounded(ask: () => Promise<string>): Promise<string> {
  const timeout = new Promise<string>((resolve) => setTimeout(resolve, 5000, "unavailable").unref());
  return Promise.race([ask().catch(() => "unavailable"), timeout]);
}

async function redisVersion(url: string): Promise<string> {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  try {
    return /redis_version:(\S+)/.exec(await client.info("server"))?.[1] ?? "unknown";
  } finally {
    client.destroy();
  }
}

async function sqlVersion(config: Knex.Config, sql: string, column: string): Promise<string> {
  const db = knex({ ...config, pool: { min: 0, max: 1 } });
  try {
    const result = await db.raw(sql);
    const rows = (Array.isArray(result) ? result : result.rows) as Record<string, string>[];
    return String(rows[0]?.[column]);
  } finally {
    await db.destroy();
  }
}

/**
 * The SQLite library of the sqlite3 driver Stoat's database store loads (from Stoat's install: the bench
 * has no SQLite of its own), or "unavailable".
 */
function sqliteVersion(stoat: string | undefined): string {
  try {
    const sqlite3 = createRequire(join(stoat ?? BENCH_DIR, "package.json"))("sqlite3") as { VERSION: string };
    return sqlite3.VERSION;
  } catch {
    return "unavailable";
  }
}

export async function gatherFacts(redisUrl: string, postgresUrl: string): Promise<Facts> {
  const stoat = stoatDir();
  const [redis, postgres] = await Promise.all([
    bounded(() => redisVersion(redisUrl)),
    bounded(() =>
      sqlVersion({ client: "pg", connection: postgresUrl }, "show server_version", "server_version"),
    ),
  ]);
  const sqlite = sqliteVersion(stoat);
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    stoat: stoatVersion(stoat),
    packages: Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(name, stoat)])),
    redis,
    postgres,
    sqlite,
  };
}

/** The facts as markdown lines, with the run's settings. */
export function renderFacts(facts: Facts, settings: string): string {
  const packages = Object.entries(facts.packages)
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");
  return [
    `Measured ${facts.date} on ${facts.cpu} (${facts.cores} cores), ${facts.os}, Node ${facts.node}.`,
    `Stoat ${facts.stoat}; Redis ${facts.redis}, PostgreSQL ${facts.postgres}, SQLite ${facts.sqlite}.`,
    `Peers and tools: ${packages}.`,
    `Settings: ${settings}.`,
  ].join("\n");
}
