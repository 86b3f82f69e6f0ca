import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { repoRoot } from "./cli.js";
import {
  checkBinary,
  checkService,
  GateLedger,
  gate,
  isCI,
  type Probe,
  type ProbeResult,
  requireService,
  type ServiceAddress,
  type ServiceName,
  serviceAddress,
  serviceUrl,
  specsGatedBy,
  useBinary,
  useService,
} from "./services.js";

class Skipped extends Error {}
const fakeContext = () => {
  const ctx = {
    skipped: 0,
    skip(): never {
      ctx.skipped++;
      throw new Skipped("skip");
    },
  };
  return ctx;
};

async function listening(): Promise<{ server: net.Server; address: ServiceAddress }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return { server, address: { host: "127.0.0.1", port } };
}

/** A local port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<ServiceAddress> {
  const { server, address } = await listening();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address;
}

describe("spec/support/services", () => {
  describe("serviceUrl / serviceAddress", () => {
    it("uses the local defaults when env says nothing", () => {
      const env = {};
      expect(serviceUrl("redis", env)).to.equal("redis://127.0.0.1:6379");
      expect(serviceUrl("postgres", env)).to.equal("postgres://postgres@127.0.0.1:5432/test");
      expect(serviceUrl("mysql", env)).to.equal("mysql://root@127.0.0.1:3306/test");
      expect(serviceUrl("memcache", env)).to.equal("127.0.0.1:11211");
      const ports = (["redis", "postgres", "mysql", "memcache"] as ServiceName[]).map(
        (name) => serviceAddress(name, env).port,
      );
      expect(ports).to.deep.equal([6379, 5432, 3306, 11211]);
    });

    it("reads REDIS_URL, DATABASE_URL_PG, DATABASE_URL_MYSQL and MEMCACHE_SERVER", () => {
      const env = {
        REDIS_URL: "redis://:pw@cache.internal:6390/2",
        DATABASE_URL_PG: "postgres://u:p@db.internal/app",
        DATABASE_URL_MYSQL: "mysql://root@[::1]:3307/test",
        MEMCACHE_SERVER: "user:secret@mc1.internal:11311,mc2.internal:11211",
      };
      expect(serviceUrl("redis", env)).to.equal(env.REDIS_URL);
      expect(serviceUrl("memcache", env)).to.equal(env.MEMCACHE_SERVER);
      expect(serviceAddress("redis", env)).to.deep.equal({ host: "cache.internal", port: 6390 });
      expect(serviceAddress("postgres", env)).to.deep.equal({ host: "db.internal", port: 5432 });
      expect(serviceAddress("mysql", env)).to.deep.equal({ host: "::1", port: 3307 });
      expect(serviceAddress("memcache", env)).to.deep.equal({ host: "mc1.internal", port: 11311 });
      expect(serviceAddress("memcache", { MEMCACHE_SERVER: "localhost" })).to.deep.equal({
        host: "localhost",
        port: 11211,
      });
    });

    it("treats an empty variable as unset", () => {
      expect(serviceUrl("redis", { REDIS_URL: "  " })).to.equal("redis://127.0.0.1:6379");
    });

    it("counts CI=true (and other non-false values) as CI", () => {
      expect(isCI({ CI: "true" })).to.equal(true);
      expect(isCI({ CI: "1" })).to.equal(true);
      expect(isCI({})).to.equal(false);
      expect(isCI({ CI: "" })).to.equal(false);
      expect(isCI({ CI: "false" })).to.equal(false);
      expect(isCI({ CI: "0" })).to.equal(false);
    });
  });

  describe("checkService / useService", () => {
    let open: { server: net.Server; address: ServiceAddress };
    let closed: ServiceAddress;
    before(async () => {
      open = await listening();
      closed = await closedPort();
    });
    after(async () => {
      await new Promise<void>((resolve) => open.server.close(() => resolve()));
    });

    it("runs when the address answers, under CI or not", async () => {
      for (const env of [{ CI: "true" }, {}]) {
        const decision = await checkService("redis", { env, address: open.address, cache: new Map() });
        expect(decision.action).to.equal("run");
        const ctx = fakeContext();
        await useService(ctx, "redis", {
          env,
          address: open.address,
          cache: new Map(),
          ledger: new GateLedger(),
        });
        expect(ctx.skipped).to.equal(0);
      }
    });

    it("fails under CI=true when the address does not answer, naming the service and address", async () => {
      const env = { CI: "true" };
      const where = `127.0.0.1:${closed.port}`;
      const decision = await checkService("memcache", { env, address: closed, cache: new Map() });
      expect(decision.action).to.equal("fail");
      const ctx = fakeContext();
      let thrown: unknown;
      try {
        await useService(ctx, "memcache", {
          env,
          address: closed,
          cache: new Map(),
          ledger: new GateLedger(),
        });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(Error).and.not.instanceOf(Skipped);
      expect((thrown as Error).message)
        .to.include("memcache")
        .and.include(where)
        .and.include("ECONNREFUSED");
      expect(ctx.skipped).to.equal(0);
      let plain: unknown;
      await requireService("memcache", undefined, { env, address: closed, cache: new Map() }).catch((e) => {
        plain = e;
      });
      expect((plain as Error).message).to.include(where);
    });

    it("skips (pending) with a one-line reason when not under CI", async () => {
      for (const env of [{}, { CI: "false" }]) {
        const where = `127.0.0.1:${closed.port}`;
        const decision = await checkService("postgres", { env, address: closed, cache: new Map() });
        expect(decision.action).to.equal("skip");
        expect(decision.action === "skip" && decision.reason)
          .to.include("postgres")
          .and.include(where);
        const ctx = fakeContext();
        const lines: string[] = [];
        let thrown: unknown;
        try {
          await useService(ctx, "postgres", {
            env,
            address: closed,
            cache: new Map(),
            ledger: new GateLedger(),
            warn: (l) => lines.push(l),
          });
        } catch (error) {
          thrown = error;
        }
        expect(thrown).to.be.instanceOf(Skipped);
        expect(ctx.skipped).to.equal(1);
        expect(lines).to.have.length(1);
        expect(lines[0]).to.include("postgres").and.include(where).and.include("DATABASE_URL_PG");
        expect(lines[0]).not.to.include("\n");
      }
    });

    it("times out quickly on an address that never answers", async () => {
      // 192.0.2.0/24 (TEST-NET-1) is not routed: the connect either hangs until the timeout or fails at once.
      const started = Date.now();
      const decision = await checkService("redis", {
        env: {},
        address: { host: "192.0.2.1", port: 6379 },
        timeoutMs: 200,
        cache: new Map(),
      });
      expect(decision.action).to.equal("skip");
      expect(Date.now() - started).to.be.lessThan(1500);
    });

    it("probes each address once and caches the answer", async () => {
      let calls = 0;
      const probe: Probe = async (): Promise<ProbeResult> => {
        calls++;
        return { reachable: false, detail: "ECONNREFUSED" };
      };
      const cache = new Map<string, Promise<ProbeResult>>();
      const options = { env: {}, address: { host: "127.0.0.1", port: 1 }, probe, cache };
      await Promise.all([checkService("redis", options), checkService("redis", options)]);
      await checkService("redis", options);
      expect(calls).to.equal(1);
      await checkService("redis", { ...options, address: { host: "127.0.0.1", port: 2 } });
      expect(calls).to.equal(2);
    });

    it("leaves process.env alone", async () => {
      const before = { ...process.env };
      await checkService("mysql", { env: { CI: "true" }, address: closed, cache: new Map() });
      expect(process.env).to.deep.equal(before);
    });
  });

  describe("checkBinary / useBinary", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "stoat-bin-"));
      writeFileSync(join(dir, "memcached"), "#!/bin/sh\n");
      chmodSync(join(dir, "memcached"), 0o755);
      writeFileSync(join(dir, "redis-server"), "not executable\n");
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("finds a program on PATH and runs, under CI or not", () => {
      for (const env of [{ PATH: `/nonexistent:${dir}` }, { PATH: dir, CI: "true" }]) {
        expect(checkBinary("memcached", { env })).to.deep.equal({
          action: "run",
          path: join(dir, "memcached"),
        });
        const ctx = fakeContext();
        expect(useBinary(ctx, "memcached", { env, ledger: new GateLedger() })).to.equal(
          join(dir, "memcached"),
        );
        expect(ctx.skipped).to.equal(0);
      }
    });

    it("skips off CI and fails under CI=true when the program is missing or not executable", () => {
      for (const name of ["memcached", "redis-server"] as const) {
        const env = { PATH: name === "memcached" ? "/nonexistent" : dir };
        const skip = checkBinary(name, { env });
        expect(skip).to.deep.include({ action: "skip", missing: `${name} not installed` });
        const ctx = fakeContext();
        const ledger = new GateLedger();
        expect(() => useBinary(ctx, name, { env, ledger, warn: () => {} })).to.throw(Skipped);
        expect(ctx.skipped).to.equal(1);

        const fail = checkBinary(name, { env: { ...env, CI: "true" } });
        expect(fail.action).to.equal("fail");
        const failed = fakeContext();
        expect(() => useBinary(failed, name, { env: { ...env, CI: "true" }, ledger }))
          .to.throw(Error, `${name} is not on PATH: under CI a missing program is a failure`)
          .and.not.be.instanceOf(Skipped);
        expect(failed.skipped).to.equal(0);
      }
    });

    it("looks only at the given path when there is one (Chromium where the browser tests start it)", () => {
      const env = { PATH: dir };
      expect(checkBinary("chromium", { env, path: join(dir, "memcached") }).action).to.equal("run");
      const missing = join(dir, "chromium");
      expect(checkBinary("chromium", { env, path: missing })).to.deep.include({
        action: "skip",
        missing: `Chromium not installed (${missing})`,
      });
      expect(
        checkBinary("script", { env: {}, exists: (file) => file === "/usr/bin/script" }).action,
      ).to.equal("run");
    });

    it("looks for the PostgreSQL server programs where the fault runs start them, not on PATH", () => {
      const seen: string[] = [];
      const decision = checkBinary("postgres-server", {
        env: { PATH: dir },
        exists: (file) => {
          seen.push(file);
          return false;
        },
      });
      expect(decision.action).to.equal("skip");
      expect(decision.action === "skip" && decision.missing).to.include("/usr/lib/postgresql/*/bin/initdb");
      for (const file of seen) expect(file).to.match(/^\/usr\/lib\/postgresql\/[^/]+\/bin\/initdb$/);
    });
  });

  describe("gate and the end-of-run summary", () => {
    const suite = (total: number) => ({ total: () => total });
    const hookContext = (title: string, total: number) => ({
      ...fakeContext(),
      test: { type: "hook", originalTitle: title, title: `${title} for "x"`, parent: suite(total) },
    });
    const skipping = (missing: string) => ({ action: "skip" as const, reason: `${missing}!`, missing });

    it("counts a whole suite for a before-all hook, one spec for a beforeEach hook or a test", () => {
      expect(specsGatedBy(hookContext('"before all" hook', 12))).to.equal(12);
      expect(specsGatedBy(hookContext('"before all" hook: named', 5))).to.equal(5);
      expect(specsGatedBy(hookContext('"before each" hook', 12))).to.equal(1);
      expect(specsGatedBy({ ...fakeContext(), test: { type: "test", parent: suite(12) } })).to.equal(1);
      expect(specsGatedBy(fakeContext())).to.equal(1);
    });

    it("says nothing when nothing was missing", () => {
      const ledger = new GateLedger();
      gate(fakeContext(), { action: "run", path: "/usr/bin/memcached" }, { ledger });
      expect(ledger.summary()).to.equal(undefined);
    });

    it("names everything skipped once, with the spec count and the one install command", () => {
      const ledger = new GateLedger();
      ledger.reporting = true;
      const lines: string[] = [];
      const skip = (ctx: ReturnType<typeof fakeContext>, missing: string) =>
        expect(() => gate(ctx, skipping(missing), { ledger, warn: (l) => lines.push(l) })).to.throw(Skipped);
      skip(hookContext('"before all" hook', 70), "memcached not installed");
      skip(hookContext('"before all" hook', 2), "PostgreSQL not reachable on 127.0.0.1:5432");
      skip(fakeContext(), "memcached not installed");
      expect(lines, "the reporter says it at the end instead").to.deep.equal([]);
      expect(ledger.summary()).to.equal(
        "Skipped 73 specs: memcached not installed, PostgreSQL not reachable on 127.0.0.1:5432 — " +
          "install and start them all with `bash .ci/run --services-only`",
      );
    });

    it("warns at once, once a reason, when no end-of-run reporter is loaded", () => {
      const ledger = new GateLedger();
      const lines: string[] = [];
      expect(() =>
        gate(fakeContext(), skipping("memcached not installed"), { ledger, warn: (l) => lines.push(l) }),
      ).to.throw(Skipped);
      expect(lines).to.deep.equal([
        "[spec] skipping: memcached not installed!; bash .ci/run --services-only installs and starts it",
      ]);
      expect(ledger.summary()).to.equal(
        "Skipped 1 spec: memcached not installed — install and start them all with `bash .ci/run --services-only`",
      );
    });

    it("under CI says the specs could not run, after throwing instead of skipping", () => {
      const ledger = new GateLedger();
      const error = new Error("memcached is not on PATH");
      const ctx = hookContext('"before all" hook', 3);
      expect(() =>
        gate(ctx, { action: "fail", error, missing: "memcached not installed" }, { ledger }),
      ).to.throw(error);
      expect(ctx.skipped).to.equal(0);
      expect(ledger.summary()).to.equal(
        "3 specs could not run under CI: memcached not installed — install and start them all with `bash .ci/run --services-only`",
      );
    });
  });

  describe("a mocha run with the summary loaded (as .mocharc.json loads it)", function () {
    this.timeout(60_000);
    const fixture = join(repoRoot, "spec/support/fixtures/gated.fixture.ts");
    const mocha = join(repoRoot, "node_modules/mocha/bin/mocha.js");
    let empty: string;
    let redis: ServiceAddress;
    before(async () => {
      empty = mkdtempSync(join(tmpdir(), "stoat-path-"));
      redis = await closedPort();
    });
    after(() => rmSync(empty, { recursive: true, force: true }));

    /** The fixture's run on a machine without memcached and Redis: PATH holds nothing, REDIS_URL a closed port. */
    async function runFixture(ci: boolean): Promise<{ code: number; stdout: string }> {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: empty,
        REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      };
      delete env.CI;
      if (ci) env.CI = "true";
      const args = ["--import", "tsx", mocha, "--no-config", "--require", "spec/support/skip_summary.ts"];
      try {
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [...args, "--reporter", "dot", fixture],
          {
            cwd: repoRoot,
            env,
            timeout: 50_000,
          },
        );
        return { code: 0, stdout };
      } catch (error) {
        const failed = error as { code?: number; stdout?: string };
        return { code: failed.code ?? -1, stdout: failed.stdout ?? "" };
      }
    }

    it("ends green with one line naming what was skipped and the install command", async () => {
      const { code, stdout } = await runFixture(false);
      expect(code, stdout).to.equal(0);
      expect(stdout).to.match(/1 passing.*\n\s*3 pending/s);
      const lines = stdout.trimEnd().split("\n");
      expect(lines.at(-1)).to.equal(
        `Skipped 3 specs: memcached not installed, Redis not reachable on 127.0.0.1:${redis.port} (REDIS_URL) — ` +
          "install and start them all with `bash .ci/run --services-only`",
      );
      expect(stdout.match(/Skipped/g), "one line, said once").to.have.length(1);
    });

    it("fails under CI=true, and still names what is missing", async () => {
      const { code, stdout } = await runFixture(true);
      expect(code, stdout).to.equal(2);
      expect(stdout).to.match(/2 failing/);
      expect(stdout.trimEnd().split("\n").at(-1)).to.equal(
        `3 specs could not run under CI: memcached not installed, Redis not reachable on 127.0.0.1:${redis.port} (REDIS_URL) — ` +
          "install and start them all with `bash .ci/run --services-only`",
      );
    });
  });

  // The real thing: the services this machine provides, checked with the policy itself (pending off CI
  // when one is down, a failure under CI).
  for (const name of ["redis", "postgres", "mysql", "memcache"] as ServiceName[]) {
    describe(`machine service: ${name}`, () => {
      before(async function () {
        await useService(this, name);
      });
      const { host, port } = serviceAddress(name);
      it(`answers at ${host}:${port}`, async () => {
        const decision = await checkService(name);
        expect(decision.action).to.equal("run");
      });
    });
  }
});
