import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keyv } from "keyv";
import { CookieStore, type SessionStore } from "stoat";
import { resolveSessionOptions } from "../../../src/session/options.js";
import { type BackendName, openBackend } from "../../../src/session/stores/adapters/index.js";
import { databaseStoreFactory } from "../../../src/session/stores/database/factory.js";
import { ServerStore } from "../../../src/session/stores/server_store.js";
import { SECRET } from "../../support/app.js";
import { inspectStore } from "../../support/inspect.js";
import { type RedisCluster, startRedisCluster } from "../../support/redis_cluster.js";
import { type ServiceName, serviceAddress, serviceUrl } from "../../support/services.js";
import { type Outage, type StoreContractOptions, storeContract } from "../../support/store_contract.js";
import { TcpProxy } from "../../support/tcp_proxy.js";
import { DIALECTS, installedTable, uniqueTable } from "./database/dialects.js";

// The shared store contract (spec/support/store_contract.ts) on every store Stoat ships, each on its real
// service: the cookie store; the Keyv stores memory, redis, redis on a Redis Cluster, memcache, sqlite,
// postgres, mysql (MariaDB here) and keyv (an app's own Keyv instance); and the `database` store on SQLite,
// PostgreSQL and MariaDB. Each declares where it differs, and why.

const run = `${Date.now().toString(36)}-${process.pid}`;
const namespace = `contract-${run}`;
const dir = mkdtempSync(join(tmpdir(), "stoat-contract-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const sealing = { secrets: [SECRET], encrypt: true, serializer: "msgpack" as const };

/** A SessionStore over openBackend, as the app's factories build it. */
async function serverStore(name: BackendName, options: Record<string, unknown>) {
  const backend = await openBackend(name, { timeoutMs: 2000, ttlMs: 60_000, ...options });
  const store: SessionStore = new ServerStore(name, backend, sealing);
  return { store, cleanup: () => backend.close() };
}

/** An outage of a shared service: a proxy of the spec's own in front of it, cut and reopened on one port. */
async function proxied(service: ServiceName, through: (port: number) => Record<string, unknown>) {
  const proxy = new TcpProxy(serviceAddress(service));
  await proxy.start();
  return {
    options: through(proxy.port),
    cut: () => proxy.stop(),
    restore: () => proxy.start(),
    close: () => proxy.stop(),
  } satisfies Outage;
}

/** The service's URL with its host and port replaced by the proxy's. */
function viaProxy(url: string, port: number): string {
  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(port);
  return proxied.href;
}

// docs/stores.md, Concurrency.
const NO_COMPARE_AND_SET =
  "no compare-and-set in its adapter: a write merges onto a read made just before it, so a change from " +
  "another process is kept unless it lands in between";

/** A Keyv store on a shared service, reached through a proxy for its outage. */
function keyvCase(
  name: BackendName,
  service: ServiceName | undefined,
  options: () => Record<string, unknown>,
  extra: Partial<StoreContractOptions> = {},
): [string, StoreContractOptions] {
  return [
    name,
    {
      service,
      store: name,
      options,
      make: () => serverStore(name, options()),
      inspect: () => inspectStore(name, options()),
      differences: { noCompareAndSet: NO_COMPARE_AND_SET },
      ...extra,
    },
  ];
}

// The app's own Keyv instance (over a Map here; in an app, mongo, dynamo, valkey...).
const userKeyv = new Keyv();
let cluster: RedisCluster | undefined;
const clusterOptions = () => ({ cluster: { rootNodes: cluster!.urls }, namespace });

const CASES: [string, StoreContractOptions][] = [
  [
    "cookie",
    {
      options: () => ({}),
      make: async () => ({ store: new CookieStore({ secrets: [SECRET] }) }),
      differences: {
        destroyKeepsCopies: "the record lives in the cookie itself; there is no server copy to delete",
        newValueOnEverySave: "every seal has a fresh IV, so each save is a new cookie value",
        noIdToCycle: "the cookie holds the record, not an id: cycleKey() has nothing to move",
        sizeLimit: {
          reason: "browsers keep at most 4096 bytes a cookie",
          error: "CookieOverflowError",
          message: /4096/,
        },
      },
    },
  ],
  [
    "memory",
    {
      store: "memory",
      options: () => ({}),
      make: () => serverStore("memory", {}),
      differences: {
        oneProcessOnly:
          "the data lives in the app's own process: no second app or connection sees it, and a restart " +
          "(to change secrets too) empties it",
      },
    },
  ],
  keyvCase("redis", "redis", () => ({ url: serviceUrl("redis"), namespace }), {
    differences: {},
    outage: () => proxied("redis", (port) => ({ url: viaProxy(serviceUrl("redis"), port) })),
  }),
  [
    "redis (cluster)",
    {
      binaries: ["redis-server", "redis-cli"],
      setUp: async () => {
        cluster = await startRedisCluster();
      },
      tearDown: async () => {
        await cluster?.stop();
      },
      store: "redis",
      options: () => ({ ...clusterOptions(), timeout: 10 }), // generous: no timing is asserted here
      make: () => serverStore("redis", { ...clusterOptions(), timeoutMs: 10_000 }),
      inspect: () => openBackend("redis", { ...clusterOptions(), timeoutMs: 10_000, ttlMs: 60_000 }),
      // No proxy: the nodes announce their own ports, so the masters themselves are stopped (SIGSTOP).
      outage: async () => {
        const signal = (name: NodeJS.Signals) => async () => {
          for (const pid of cluster!.pids) process.kill(pid, name);
        };
        return {
          options: clusterOptions(),
          cut: signal("SIGSTOP"),
          restore: signal("SIGCONT"),
          close: signal("SIGCONT"),
          slowToFail: "a stopped node keeps its connections open: each call waits out the timeout",
        };
      },
    },
  ],
  keyvCase("memcache", "memcache", () => ({ memcacheServer: serviceUrl("memcache"), namespace }), {
    outage: () => proxied("memcache", (port) => ({ memcacheServer: `127.0.0.1:${port}` })),
    differences: {
      noCompareAndSet: NO_COMPARE_AND_SET,
      sizeLimit: {
        reason: "memcached keeps items of at most 1 MiB, and would drop the key on its own 'Value too large'",
        error: "SessionOverflowError",
        message: /the memcache store keeps at most 1000000/,
      },
    },
  }),
  keyvCase("sqlite", undefined, () => ({ database: join(dir, "sessions.sqlite3") })),
  keyvCase("postgres", "postgres", () => ({ url: serviceUrl("postgres"), namespace }), {
    outage: () => proxied("postgres", (port) => ({ url: viaProxy(serviceUrl("postgres"), port) })),
  }),
  keyvCase("mysql", "mysql", () => ({ url: serviceUrl("mysql"), namespace }), {
    outage: () => proxied("mysql", (port) => ({ url: viaProxy(serviceUrl("mysql"), port) })),
  }),
  keyvCase("keyv", undefined, () => ({ keyv: userKeyv })),
  ...DIALECTS.map((dialect): [string, StoreContractOptions] => {
    const table = uniqueTable("contract");
    const options = () => ({ url: dialect.url, table });
    const service = dialect.service;
    return [
      `database (${dialect.name})`,
      {
        service,
        store: "database",
        options,
        make: async () => {
          const resolved = resolveSessionOptions({ secret: SECRET }, databaseStoreFactory.rules, [SECRET]);
          const store = (await databaseStoreFactory.create(resolved, options(), {
            clock: Date.now,
          })) as SessionStore;
          return { store, cleanup: () => store.close!() };
        },
        // Installs the table (as `npx stoat sessions:install` would); its close() drops it.
        inspect: () => installedTable(dialect, table),
        ...(service
          ? {
              outage: () => proxied(service, (port) => ({ url: viaProxy(dialect.url, port), table })),
            }
          : {}),
        differences: {
          sizeLimit: {
            reason: "maxDataBytes (default 65535) bounds the data column; it is checked before any write",
            error: "SessionOverflowError",
            message: /session data is \d+ bytes encoded, over .*maxDataBytes \(65535\)/,
            raised: { maxDataBytes: 4_000_000 },
          },
        },
      },
    ];
  }),
];

for (const [name, options] of CASES) storeContract(name, options);
