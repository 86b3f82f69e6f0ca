import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { Keyv } from "keyv";
import {
  ConfigError,
  SessionOverflowError,
  SessionStoreUnavailableError,
} from "../../../src/session/errors.js";
import {
  adapterImportError,
  importAdapter,
  missingPackage,
} from "../../../src/session/stores/adapters/import_adapter.js";
import {
  type AdapterOptions,
  type BackendName,
  KEYV_STORES,
  openBackend,
} from "../../../src/session/stores/adapters/index.js";
import type { Backend } from "../../../src/session/stores/backend.js";
import { KeyvBackend } from "../../../src/session/stores/keyv_backend.js";
import { freePort } from "../../support/net.js";
import { type ServiceName, serviceUrl, useBinary, useService } from "../../support/services.js";

// Every Keyv backend against the real service: exact round trips of any string, a
// missing key, idempotent delete, TTLs, and failure: a store that is not there rejects in bounded time
// without crashing the process, and Redis recovers from an outage without the backend being recreated.

const TIMEOUT_MS = 1500;
const TTL_MS = 60_000;
const run = `${process.pid}-${Date.now().toString(36)}`;
let counter = 0;
/** A fresh key shaped like the layer's (`2::` + hex) and unique to this run. */
const freshKey = () => `2::spec-${run}-${++counter}`;

const SAMPLES: [string, string][] = [
  ["the empty string", ""],
  ["NFC é", "caf\u00e9"],
  ["NFD é (kept apart from NFC)", "cafe\u0301"],
  ["emoji, a ZWJ family and a flag", "\u{1F9A6} \u{1F469}\u200D\u{1F469}\u200D\u{1F467} \u{1F1EB}\u{1F1F7}"],
  ["Keyv's own markers and JSON", ':base64:AAAA ::x {"value":1,"expires":0} null'],
  ["control characters, NUL and quotes", "\u0000\u0001\n\r\t\"\\'`"],
  ["a lone surrogate", "a\uD800b"],
  ["base64url, as the layer writes", "m:0:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo-_"],
];
/** 1 MB (10^6 bytes): under memcached's default 1 MiB item limit with key and framing. */
const ONE_MB = Array.from({ length: 1_000_000 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 94))).join(
  "",
);

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection, got a fulfilment");
}

/** Errors that would have crashed the process (mocha reports uncaught ones too; this names them). */
const crashes: unknown[] = [];
const onUnhandled = (reason: unknown) => crashes.push(reason);
before(() => {
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtExceptionMonitor", onUnhandled);
});
after(() => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtExceptionMonitor", onUnhandled);
});

const sqliteDir = mkdtempSync(join(tmpdir(), "stoat-backends-"));
after(() => rmSync(sqliteDir, { recursive: true, force: true }));

interface Case {
  name: BackendName;
  service?: ServiceName;
  options(): Partial<AdapterOptions>;
  /** The same backend pointed at a port nothing listens on. */
  closedPort?(port: number): Partial<AdapterOptions>;
}

const CASES: Case[] = [
  { name: "memory", options: () => ({}) },
  { name: "sqlite", options: () => ({ database: join(sqliteDir, "nested", "dir", "sessions.sqlite3") }) },
  { name: "keyv", options: () => ({ keyv: new Keyv() }) },
  {
    name: "redis",
    service: "redis",
    options: () => ({ url: serviceUrl("redis") }),
    closedPort: (port) => ({ url: `redis://127.0.0.1:${port}` }),
  },
  {
    name: "memcache",
    service: "memcache",
    options: () => ({ memcacheServer: serviceUrl("memcache") }),
    closedPort: (port) => ({ memcacheServer: `127.0.0.1:${port}` }),
  },
  {
    name: "postgres",
    service: "postgres",
    options: () => ({ url: serviceUrl("postgres") }),
    closedPort: (port) => ({ url: `postgres://postgres@127.0.0.1:${port}/test` }),
  },
  {
    name: "mysql",
    service: "mysql",
    options: () => ({ url: serviceUrl("mysql") }),
    closedPort: (port) => ({ url: `mysql://root@127.0.0.1:${port}/test` }),
  },
];

function open(name: BackendName, options: Partial<AdapterOptions>): Promise<Backend> {
  return openBackend(name, { timeoutMs: TIMEOUT_MS, ttlMs: TTL_MS, ...options });
}

for (const testCase of CASES) {
  describe(`${testCase.name} backend`, () => {
    let backend: Backend;

    before(async function () {
      if (testCase.service) await useService(this, testCase.service);
      backend = await open(testCase.name, testCase.options());
    });
    after(async () => {
      await backend?.close();
    });

    for (const [label, value] of SAMPLES) {
      it(`round-trips ${label} exactly`, async () => {
        const key = freshKey();
        await backend.set(key, value, TTL_MS);
        expect(await backend.get(key)).to.equal(value);
      });
    }

    it("round-trips a 1 MB string", async () => {
      const key = freshKey();
      await backend.set(key, ONE_MB, TTL_MS);
      const read = await backend.get(key);
      expect(read?.length).to.equal(ONE_MB.length);
      expect(read === ONE_MB, "the 1 MB string came back different").to.equal(true);
    });

    it("keeps NFC and NFD apart as two values", async () => {
      const [nfc, nfd] = [freshKey(), freshKey()];
      await backend.set(nfc, "\u00e9", TTL_MS);
      await backend.set(nfd, "e\u0301", TTL_MS);
      expect([await backend.get(nfc), await backend.get(nfd)]).to.deep.equal(["\u00e9", "e\u0301"]);
    });

    it("overwrites a value", async () => {
      const key = freshKey();
      await backend.set(key, "first", TTL_MS);
      await backend.set(key, "second", TTL_MS);
      expect(await backend.get(key)).to.equal("second");
    });

    it("answers undefined for a missing key", async () => {
      expect(await backend.get(freshKey())).to.equal(undefined);
    });

    it("deletes, and deleting twice (or a key never written) is fine", async () => {
      const key = freshKey();
      await backend.set(key, "v", TTL_MS);
      await backend.delete(key);
      await backend.delete(key);
      await backend.delete(freshKey());
      expect(await backend.get(key)).to.equal(undefined);
    });

    it("forgets an entry once its TTL has passed", async function () {
      this.timeout(10_000);
      const key = freshKey();
      await backend.set(key, "short-lived", 1000);
      expect(await backend.get(key)).to.equal("short-lived");
      await sleep(1300);
      expect(await backend.get(key)).to.equal(undefined);
    });

    if (testCase.name !== "keyv") {
      it("keeps namespaces apart", async function () {
        if (testCase.service) await useService(this, testCase.service);
        const other = await open(testCase.name, { ...testCase.options(), namespace: `stoat:other-${run}` });
        try {
          const key = freshKey();
          await backend.set(key, "mine", TTL_MS);
          expect(await other.get(key)).to.equal(undefined);
          await other.set(key, "theirs", TTL_MS);
          expect(await backend.get(key)).to.equal("mine");
        } finally {
          await other.close();
        }
      });
    }

    it("rejects calls once closed", async () => {
      const closing = await open(testCase.name, testCase.options());
      await closing.close();
      await closing.close(); // twice is fine
      expect(await rejection(closing.get(freshKey()))).to.be.instanceOf(SessionStoreUnavailableError);
    });

    const closedPort = testCase.closedPort;
    if (closedPort) {
      it("rejects get, set and delete when nothing listens on its port, without crashing", async function () {
        this.timeout(30_000);
        const port = await freePort();
        const down = await open(testCase.name, closedPort(port));
        try {
          const key = freshKey();
          const calls = [down.get(key), down.set(key, "v", TTL_MS), down.delete(key), down.get(key)];
          for (const error of await Promise.all(calls.map(rejection))) {
            expect(error).to.be.instanceOf(SessionStoreUnavailableError);
            expect(error.message).to.contain(`"${testCase.name}"`);
          }
        } finally {
          await down.close();
        }
        await sleep(300); // late "error" events and reconnect attempts would surface here
        expect(crashes).to.deep.equal([]);
      });
    }
  });
}

describe("memory backend bounds", () => {
  it("keeps at most maxEntries, dropping the least recently used", async () => {
    const backend = await open("memory", { maxEntries: 3 });
    try {
      const keys = [freshKey(), freshKey(), freshKey(), freshKey(), freshKey()];
      for (const key of keys) await backend.set(key, key, TTL_MS);
      const found = await Promise.all(keys.map((key) => backend.get(key)));
      expect(found).to.deep.equal([undefined, undefined, keys[2], keys[3], keys[4]]);
    } finally {
      await backend.close();
    }
  });

  it("refuses a maxEntries that is not a whole number above 0", async () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      expect(await rejection(open("memory", { maxEntries }))).to.be.instanceOf(ConfigError);
    }
  });
});

describe("sqlite backend files", () => {
  it("creates the database's directory", async () => {
    const database = join(sqliteDir, "made", "for", "it.sqlite3");
    const backend = await open("sqlite", { database });
    try {
      await backend.set(freshKey(), "v", TTL_MS);
      expect(statSync(database).isFile()).to.equal(true);
    } finally {
      await backend.close();
    }
  });

  it("fails at boot with a ConfigError when the file cannot be opened, without crashing", async () => {
    // A directory where the file should be (SQLITE_CANTOPEN), and a directory that cannot be made (ENOTDIR).
    for (const database of [sqliteDir, "/dev/null/sessions.sqlite3"]) {
      const error = await rejection(open("sqlite", { database }));
      expect(error, database).to.be.instanceOf(ConfigError);
      expect(error.message).to.contain('session store "sqlite"');
    }
    await sleep(100);
    expect(crashes).to.deep.equal([]);
  });
});

describe("memcache backend limits", () => {
  let backend: Backend;
  before(async function () {
    await useService(this, "memcache");
    backend = await open("memcache", { memcacheServer: serviceUrl("memcache") });
  });
  after(async () => {
    await backend?.close();
  });

  it("refuses a value over memcached's item limit before sending it, keeping what was stored", async () => {
    const key = freshKey();
    await backend.set(key, "small", TTL_MS);
    const error = await rejection(backend.set(key, "x".repeat(2 * 1024 * 1024), TTL_MS));
    expect(error).to.be.instanceOf(SessionOverflowError);
    expect(error.message).to.match(/2097152 bytes; the memcache store keeps at most 1000000/);
    // memcached would have dropped the key on its own "Value too large"; refused here, it is untouched.
    expect(await backend.get(key)).to.equal("small");
  });

  it("keeps an entry whose TTL is over 30 days (memcached would read the seconds as a past date)", async () => {
    const key = freshKey();
    await backend.set(key, "long-lived", 60 * 24 * 3600 * 1000);
    expect(await backend.get(key)).to.equal("long-lived");
  });
});

describe("keyv backend (the app's own Keyv)", () => {
  it("needs a Keyv instance", async () => {
    for (const keyv of [undefined, null, new Map(), {}, "redis://x"]) {
      const error = await rejection(open("keyv", { keyv }));
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.message).to.contain("Keyv instance");
    }
  });

  it("turns the instance's error swallowing off", async () => {
    const keyv = new Keyv();
    expect(keyv.throwOnErrors).to.equal(false);
    const backend = await open("keyv", { keyv });
    expect(keyv.throwOnErrors).to.equal(true);
    await backend.close();
  });

  it("rejects when the store throws, where a plain Keyv would answer undefined", async () => {
    const failing = {
      get: async () => {
        throw new Error("store down");
      },
      set: async () => {
        throw new Error("store down");
      },
      delete: async () => {
        throw new Error("store down");
      },
      clear: async () => {},
    };
    expect(await new Keyv({ store: failing }).get("k")).to.equal(undefined); // the default this guards against
    const backend = await open("keyv", { keyv: new Keyv({ store: failing }) });
    const calls = [backend.get("k"), backend.set("k", "v", TTL_MS), backend.delete("k")];
    for (const error of await Promise.all(calls.map(rejection))) {
      expect(error).to.be.instanceOf(SessionStoreUnavailableError);
      expect(error.message).to.contain("store down");
    }
  });

  it("rejects a set the store did not confirm", async () => {
    const refusing = {
      get: async () => undefined,
      set: async () => false,
      delete: async () => true,
      clear: async () => {},
    };
    const backend = await open("keyv", { keyv: new Keyv({ store: refusing }) });
    expect((await rejection(backend.set("k", "v", TTL_MS))).message).to.contain("did not confirm");
  });

  it("rejects a call that never answers, after timeoutMs", async () => {
    const hanging = {
      get: () => new Promise(() => {}),
      set: () => new Promise(() => {}),
      delete: () => new Promise(() => {}),
      clear: async () => {},
    };
    const backend = new KeyvBackend(new Keyv({ store: hanging }), { name: "hanging", timeoutMs: 50 });
    expect((await rejection(backend.get("k"))).message).to.contain("no answer within 50 ms");
    expect((await rejection(backend.set("k", "v", TTL_MS))).message).to.contain("no answer within 50 ms");
  });
});

describe("backend options", () => {
  it("postgres and mysql need a url", async () => {
    for (const name of ["postgres", "mysql"] as const) {
      const error = await rejection(open(name, {}));
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.message).to.contain("url");
    }
  });

  it("refuses a timeoutMs that is not a positive number", async () => {
    expect(await rejection(openBackend("memory", { timeoutMs: 0, ttlMs: TTL_MS }))).to.be.instanceOf(
      ConfigError,
    );
  });
});

describe("missing adapters", () => {
  const require = createRequire(import.meta.url);
  const importError = (specifier: string) => rejection(import(specifier));

  it("every store's adapter is installed for the framework's own specs", async () => {
    for (const { name, package: pkg } of KEYV_STORES) {
      if (pkg === undefined) continue; // the app's own Keyv: nothing to import
      const module = await importAdapter<Record<string, unknown>>(name, pkg);
      expect(Object.keys(module), pkg).to.not.be.empty;
    }
  });

  it("names the npm package to install when the adapter itself is missing", async () => {
    const error = await rejection(importAdapter("redis", "@keyv/stoat-not-installed"));
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.contain('session store "redis"');
    expect(error.message).to.contain("npm install @keyv/stoat-not-installed");
  });

  it("tells a missing dependency of an installed adapter from the adapter missing", async () => {
    const error = adapterImportError("sqlite", "@keyv/sqlite", await importError("stoat-not-installed-dep"));
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as Error).message).to.contain(
      "@keyv/sqlite is installed but its dependency stoat-not-installed-dep",
    );
  });

  it("reads the package name from ESM and CommonJS errors, scoped or not, with a subpath or not", async () => {
    expect(missingPackage(await importError("@keyv/stoat-not-installed"))).to.equal(
      "@keyv/stoat-not-installed",
    );
    expect(missingPackage(await importError("stoat-not-installed/sub/path.js"))).to.equal(
      "stoat-not-installed",
    );
    let cjs: unknown;
    try {
      require("@stoat-missing/cjs-pkg/lib");
    } catch (error) {
      cjs = error;
    }
    expect(missingPackage(cjs)).to.equal("@stoat-missing/cjs-pkg");
  });

  it("does not mistake other failures for a missing package", async () => {
    expect(missingPackage(await importError("./stoat-no-such-file.js"))).to.equal(undefined);
    expect(missingPackage(new Error("Cannot find package 'x'"))).to.equal(undefined); // no code
    const other = new TypeError("boom");
    expect(adapterImportError("redis", "@keyv/redis", other)).to.equal(other);
  });

  it("explains an unbuilt sqlite3 (its install script not approved)", () => {
    const error = adapterImportError(
      "sqlite",
      "@keyv/sqlite",
      new Error("Could not locate the bindings file. Tried:\n → .../node_sqlite3.node"),
    ) as Error;
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.contain("npm install-scripts approve sqlite3");
  });
});

// ---------------------------------------------------------------------------------------------------------
// Servers of this spec's own (Redis, memcached), killed, stopped and restarted by pid.

async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${ms} ms`);
    await sleep(50);
  }
}

async function startServer(command: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: "ignore" });
  const failed = once(child, "error").then(([error]) => {
    throw new Error(`cannot start ${command}: ${(error as Error).message}`);
  });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`${command} exited with ${code} before listening on ${port}`);
  });
  await Promise.race([waitForPort(port, 10_000), failed, exited]);
  failed.catch(() => {});
  exited.catch(() => {});
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  process.kill(child.pid as number, "SIGKILL");
  await exited;
}

/** Retries `attempt` until it succeeds (the backend reconnecting by itself), up to `ms`. */
async function eventually<T>(attempt: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

interface OwnServer {
  name: "redis" | "memcache";
  command: "redis-server" | "memcached";
  args(port: number): string[];
  options(port: number): Partial<AdapterOptions>;
  /** What a call says while the server is down: not queued, failed at once. */
  down: RegExp;
}

const OWN_SERVERS: OwnServer[] = [
  {
    name: "redis",
    command: "redis-server",
    args: (port) => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    options: (port) => ({ url: `redis://127.0.0.1:${port}` }),
    down: /The client is offline/,
  },
  {
    name: "memcache",
    command: "memcached",
    args: (port) => [
      ...(process.getuid?.() === 0 ? ["-u", "memcache"] : []),
      "-l",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "0",
    ],
    options: (port) => ({ memcacheServer: `127.0.0.1:${port}` }),
    down: /ECONNREFUSED/,
  },
];

for (const server of OWN_SERVERS) {
  describe(`${server.name} backend through an outage (a ${server.command} of its own)`, function () {
    this.timeout(60_000);
    let port: number;
    let child: ChildProcess | undefined;
    let backend: Backend | undefined;

    before(async function () {
      useBinary(this, server.command);
      port = await freePort();
      child = await startServer(server.command, server.args(port), port);
      backend = await open(server.name, server.options(port));
    });
    after(async () => {
      await backend?.close();
      if (child) await stopServer(child);
    });

    it("fails fast while the server is down and works again, same backend, once it is back", async () => {
      const live = backend as Backend;
      const written = freshKey();
      await live.set(written, "written before the outage", TTL_MS);
      expect(await live.get(written)).to.equal("written before the outage");

      await stopServer(child as ChildProcess);
      // Calls racing the client's discovery of the closed socket fail with a socket error ...
      const calls = [live.get(written), live.set(freshKey(), "v", TTL_MS), live.delete(written)];
      for (const error of await Promise.all(calls.map(rejection))) {
        expect(error).to.be.instanceOf(SessionStoreUnavailableError);
      }
      // ... and once it knows (within moments), every call is refused at once instead of waiting for the server.
      await eventually(async () => {
        const error = await rejection(live.get(written));
        if (!server.down.test(error.message)) throw error;
      }, 5000);
      const later = [live.get(written), live.set(freshKey(), "v", TTL_MS), live.delete(written)];
      for (const error of await Promise.all(later.map(rejection))) {
        expect(error).to.be.instanceOf(SessionStoreUnavailableError);
        expect(error.message).to.match(server.down);
      }

      child = await startServer(server.command, server.args(port), port);
      const key = freshKey();
      await eventually(() => live.set(key, "written after the outage", TTL_MS), 15_000);
      expect(await live.get(key)).to.equal("written after the outage");
      expect(crashes).to.deep.equal([]);
    });

    it("bounds a call to a server that stopped answering, and resumes when it answers again", async () => {
      const live = backend as Backend;
      const key = freshKey();
      await eventually(() => live.set(key, "kept", TTL_MS), 15_000);

      process.kill((child as ChildProcess).pid as number, "SIGSTOP"); // connected, but silent
      try {
        const error = await rejection(live.get(key));
        expect(error).to.be.instanceOf(SessionStoreUnavailableError);
        expect(error.message).to.match(/no answer within|timed out/);
      } finally {
        process.kill((child as ChildProcess).pid as number, "SIGCONT");
      }
      expect(await eventually(() => live.get(key), 15_000)).to.equal("kept");
      expect(crashes).to.deep.equal([]);
    });
  });
}

describe("postgres backend when the server drops its connections", () => {
  let backend: Backend;
  before(async function () {
    await useService(this, "postgres");
    backend = await open("postgres", { url: serviceUrl("postgres") });
  });
  after(async () => {
    await backend?.close();
  });

  it("survives (pg.Pool's 'error' event is listened to) and reconnects", async () => {
    const key = freshKey();
    await backend.set(key, "before", TTL_MS);
    const require = createRequire(import.meta.url);
    const pg = createRequire(require.resolve("@keyv/postgres"))("pg") as {
      Client: new (options: {
        connectionString: string;
      }) => {
        connect(): Promise<void>;
        query(sql: string, values: unknown[]): Promise<{ rows: { killed: boolean }[] }>;
        end(): Promise<void>;
      };
    };
    const admin = new pg.Client({ connectionString: serviceUrl("postgres") });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1",
        [`stoat-session:${process.pid}`],
      );
      expect(rows.length, "the backend's idle connections").to.be.greaterThan(0);
    } finally {
      await admin.end();
    }
    await sleep(200); // the idle clients' "error" events arrive
    expect(await eventually(() => backend.get(key), 10_000)).to.equal("before");
    expect(crashes).to.deep.equal([]);
  });
});
