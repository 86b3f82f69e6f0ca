// What a run was measured on, for the report: date, machine, Node, the peers' versions (from their
// package.json in node_modules) and the servers' (asked, bounded; "unavailable" when one does not answer).

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import knex, { type Knex } from "knex";
import { createClient } from "redis";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const PACKAGES = [
  "koa",
  "koa-session",
  "iron-session",
  "express",
  "express-session",
  "connect-redis",
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

function packageVersion(name: string): string {
  try {
    const path = join(root, "node_modules", name, "package.json");
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "missing";
  }
}

/** Stoat's version and the commit it was measured at ("+ changes" when the tree differs from it). */
function stoatVersion(): string {
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

export async function gatherFacts(redisUrl: string, postgresUrl: string): Promise<Facts> {
  const [redis, postgres, sqlite] = await Promise.all([
    bounded(() => redisVersion(redisUrl)),
    bounded(() =>
      sqlVersion({ client: "pg", connection: postgresUrl }, "show server_version", "server_version"),
    ),
    bounded(() =>
      sqlVersion(
        { client: "sqlite3", connection: { filename: ":memory:" }, useNullAsDefault: true },
        "select sqlite_version() as v",
        "v",
      ),
    ),
  ]);
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    stoat: stoatVersion(),
    packages: Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(name)])),
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
