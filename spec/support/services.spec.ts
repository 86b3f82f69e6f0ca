import net from "node:net";
import { expect } from "chai";
import {
  checkService,
  isCI,
  type Probe,
  type ProbeResult,
  requireService,
  type ServiceAddress,
  type ServiceName,
  serviceAddress,
  serviceUrl,
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
        await useService(ctx, "redis", { env, address: open.address, cache: new Map() });
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
        await useService(ctx, "memcache", { env, address: closed, cache: new Map(), warn: () => {} });
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
