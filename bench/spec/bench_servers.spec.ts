import { createHash } from "node:crypto";
import { expect } from "chai";
import knex from "knex";
import { createClient } from "redis";
import { type HotRead, lostFromRead, readHot } from "../lib/hot.js";
import { applySetCookies } from "../lib/load.js";
import { type ServerProcess, startServer, terminate } from "../lib/process.js";
import { SCENARIOS, type Scenario } from "../lib/scenarios.js";
import { tableFor } from "../servers/serve.js";
import { type ServiceName, serviceUrl, useService } from "./support/services.js";

// Every scenario server of `npm run bench` does what its name says, checked over real HTTP against its own
// process: read+write answers a Set-Cookie and counts up, read-only answers the seeded value with no
// Set-Cookie and (on Redis) leaves the stored value alone, untouched sets no cookie, bare GET+SET writes, a
// hot session keeps each connection's key and counts a write it lost, a database floor writes its row
// hashed and encrypted, and each server's table is dropped when it stops.

const prefix = `bench-spec-${Date.now().toString(36)}-${process.pid}`;

interface Answer {
  status: number;
  n: string;
  setCookies: string[];
}

async function get(server: ServerProcess, path: string, cookie?: string): Promise<Answer> {
  const res = await fetch(`${server.base}${path}`, { headers: cookie ? { cookie } : {} });
  const body = (await res.json()) as { n: string };
  return { status: res.status, n: body.n, setCookies: res.headers.getSetCookie() };
}

/** `work` with a Redis client of its own, closed after. */
async function withRedis<T>(work: (client: ReturnType<typeof createClient>) => Promise<T>): Promise<T> {
  const client = createClient({ url: serviceUrl("redis") });
  await client.connect();
  try {
    return await work(client);
  } finally {
    client.destroy();
  }
}

/** Every Redis key of this spec run, with its value. */
function redisValues(pattern: string): Promise<Record<string, string | null>> {
  return withRedis(async (client) => {
    const values: Record<string, string | null> = {};
    for await (const keys of client.scanIterator({ MATCH: pattern }))
      for (const key of keys) values[key] = await client.get(key);
    return values;
  });
}

/** EVALSHA calls the Redis server has answered so far (INFO commandstats). */
function evalshaCalls(): Promise<number> {
  return withRedis(async (client) => {
    const info = await client.info("commandstats");
    return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
  });
}

/** `work` with a PostgreSQL connection of its own, closed after. */
async function withPostgres<T>(work: (db: knex.Knex) => Promise<T>): Promise<T> {
  const db = knex({ client: "pg", connection: serviceUrl("postgres"), pool: { min: 0, max: 1 } });
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

/**
 * A hot session's server: each connection's request sets its key, GET /read answers them, a request that
 * does not find its connection's acknowledged write counts one miss (once), and lostFromRead counts against
 * the real session what an acknowledged set (made up here) has and it does not.
 */
async function hotContract(server: ServerProcess, jar: string): Promise<void> {
  const hot = async (c: number, s: number, e: number) => {
    const answer = await get(server, `/?c=${c}&s=${s}&e=${e}`, jar);
    expect(answer.status, `c=${c}&s=${s}&e=${e}`).to.equal(200);
    expect(answer.n).to.equal(String(s));
  };
  const read = (): Promise<HotRead> => readHot(server.base, jar);
  expect(await read()).to.deep.equal({ missed: 0, counted: {}, keys: {} });
  await hot(0, 0, -1);
  await hot(1, 0, -1);
  await hot(2, 0, -1);
  await hot(0, 1, 0);
  expect(await read()).to.deep.equal({ missed: 0, counted: {}, keys: { h0: "1", h1: "0", h2: "0" } });
  // Connection 2 expects a write the session never had (3): one miss, counted once however often expected.
  await hot(2, 1, 3);
  await hot(2, 2, 3);
  const after = await read();
  expect(after).to.deep.equal({ missed: 1, counted: { "2": "3" }, keys: { h0: "1", h1: "0", h2: "2" } });
  // Acknowledged (made up): 0 held, 5 for connection 1 (never written: lost), 3 for 2 (the server counted it).
  const acked = [1, 5, 3, -1];
  expect(lostFromRead(acked, after)).to.equal(1);
  expect(acked, "expectations lowered to what is held").to.deep.equal([1, 0, 2, -1]);
  expect(lostFromRead(acked, after), "a loss is counted once").to.equal(0);
}

function serversOn(service: ServiceName | undefined, scenarios: readonly Scenario[]) {
  describe(`bench servers${service ? ` on ${service}` : ""}`, function () {
    // Boots of a few seconds can take a minute on a machine busy with other test runs.
    this.timeout(180_000);
    let server: ServerProcess | undefined;

    before(async function () {
      if (service) await useService(this, service);
    });
    afterEach(async () => {
      if (!server) return;
      await terminate(server.child);
      expect(server.child.exitCode, `${server.output()}: a clean stop`).to.equal(0);
      server = undefined;
    });
    after(async () => {
      if (service !== "redis") return;
      const keys = Object.keys(await redisValues(`${prefix}:*`));
      if (keys.length > 0) await withRedis((client) => client.del(keys));
    });

    for (const scenario of scenarios) {
      const mode = scenario.env.BENCH_MODE;
      it(`${scenario.id}: ${mode}`, async () => {
        const env = { ...scenario.env, NODE_ENV: "production", BENCH_PREFIX: prefix };
        server = await startServer(scenario.script, env, scenario.id, 120_000);
        if (mode === "untouched") {
          for (let i = 0; i < 2; i++)
            expect(await get(server, "/")).to.deep.equal({ status: 200, n: "0", setCookies: [] });
          return;
        }
        const seeded = await get(server, "/seed");
        expect(seeded.status).to.equal(200);
        expect(seeded.setCookies).not.to.be.empty;
        let jar = applySetCookies("", seeded.setCookies);
        if (mode === "hot") {
          await hotContract(server, jar);
          return;
        }
        const stored = `${prefix}:${scenario.id.startsWith("bare") ? "bare" : "stoat"}*`;
        const before = scenario.services.includes("redis") ? await redisValues(stored) : {};
        const scriptsBefore = scenario.id === "bare-redis-floor" ? await evalshaCalls() : 0;
        for (let i = 1; i <= 3; i++) {
          const answer = await get(server, "/", jar);
          expect(answer.status).to.equal(200);
          if (mode === "ro") {
            expect(answer).to.deep.equal({ status: 200, n: "0", setCookies: [] });
            continue;
          }
          expect(answer.n, `request ${i}`).to.equal(String(i));
          // A server-side session keeps its id (the bare handler never resends it); a cookie session is the cookie.
          if (!scenario.id.startsWith("bare")) expect(answer.setCookies, "a Set-Cookie").not.to.be.empty;
          jar = applySetCookies(jar, answer.setCookies);
        }
        if (scenario.id === "bare-postgres-floor") {
          // The database floor does the store's work: the row is keyed by `2::` + the id's SHA-256, its data
          // encrypted (iv + ciphertext + tag), its expiry moved on.
          const sid = /sid=([^;]+)/.exec(jar)![1]!;
          const rows = await withPostgres((db) =>
            db(tableFor(prefix, "floor")).select("session_id", "data", "expires_at"),
          );
          expect(rows.map((r) => r.session_id)).to.deep.equal([
            `2::${createHash("sha256").update(sid).digest("hex")}`,
          ]);
          expect(Buffer.from(rows[0].data, "base64url").length).to.equal(12 + '{"n":"3"}'.length + 16);
          expect(new Date(rows[0].expires_at).getTime()).to.be.greaterThan(Date.now() + 3_000_000);
        }
        if (scenario.id === "bare-redis-get-set") {
          const sid = /sid=([^;]+)/.exec(jar)![1];
          expect(await redisValues(`${prefix}:bare:${sid}`)).to.deep.equal({
            [`${prefix}:bare:${sid}`]: "3",
          });
        }
        if (scenario.id === "bare-redis-floor") {
          // The floor does the contract's work: the key is the id's SHA-256, the value encrypted, and every
          // write a compare-and-set script (EVALSHA), not a SET.
          const sid = /sid=([^;]+)/.exec(jar)![1]!;
          const key = `${prefix}:bare-floor:${createHash("sha256").update(sid).digest("hex")}`;
          const values = await redisValues(`${prefix}:bare-floor:*`);
          expect(values).to.have.property(key);
          expect(values[key], "not the JSON itself").to.match(/^[\w-]+$/);
          expect(Buffer.from(values[key]!, "base64url").length, "iv + ciphertext + tag").to.equal(
            12 + '{"n":"3"}'.length + 16,
          );
          expect((await evalshaCalls()) - scriptsBefore).to.be.at.least(3);
        }
        if (mode === "ro" && scenario.services.includes("redis")) {
          expect(Object.keys(before)).not.to.be.empty;
          expect(await redisValues(stored), "stored values after read-only requests").to.deep.equal(before);
        }
      });
    }

    if (service === "postgres") {
      const tables: Record<string, string> = {
        "stoat-postgres-rw": "stoat_rw",
        "express-session-postgres-rw": "express",
        "bare-postgres-floor": "floor",
        "bare-postgres-select": "bare",
      };
      for (const [id, name] of Object.entries(tables)) {
        it(`${id}: its table is made at start and dropped when the server stops`, async () => {
          const scenario = scenarios.find((s) => s.id === id)!;
          const env = { ...scenario.env, BENCH_PREFIX: prefix };
          const started = await startServer(scenario.script, env, scenario.id, 120_000);
          await withPostgres(async (db) => {
            expect(await db.schema.hasTable(tableFor(prefix, name)), "made at start").to.equal(true);
            await terminate(started.child);
            expect(await db.schema.hasTable(tableFor(prefix, name)), "dropped on stop").to.equal(false);
          });
        });
      }
    }
  });
}

serversOn(
  undefined,
  SCENARIOS.filter((s) => s.services.length === 0),
);
serversOn(
  "redis",
  SCENARIOS.filter((s) => s.services.includes("redis")),
);
serversOn(
  "postgres",
  SCENARIOS.filter((s) => s.services.includes("postgres")),
);
