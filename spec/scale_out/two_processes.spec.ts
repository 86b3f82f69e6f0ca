import { expect } from "chai";
import { privateId } from "../../src/session/ids.js";
import type { Backend } from "../../src/session/stores/backend.js";
import { DIALECTS, installedTable, uniqueTable } from "../session/stores/database/dialects.js";
import { SECRET } from "../support/app.js";
import { inspectStore } from "../support/inspect.js";
import { type ServiceName, serviceUrl, useService } from "../support/services.js";
import { type AppServer, Jar, send, startServer } from "./processes.js";

// Scale-out: two app processes (app_server.ts, separate ports) share one store and one
// secret; one client sends its requests to them in turn. The session must continue across them, a cycleKey
// on one must retire the old id on the other, and a sign-out on one must end the session on both. Nothing
// here can pass by one process answering from memory: every step that matters is asked of the other one.

interface ScaleCase {
  label: string;
  store: string;
  service: ServiceName;
  options: Record<string, unknown>;
  /** A second connection to what is stored, looked up by hashed id (the database store: installs the table). */
  inspect(): Promise<Backend>;
  /** Whether concurrent writes from two processes are merged without loss (README, Concurrency). */
  atomicAcrossProcesses: boolean;
}

const namespace = `scale-${Date.now().toString(36)}-${process.pid}`;
const table = uniqueTable("scale");
const postgres = DIALECTS.find((d) => d.name === "postgres")!;

/** A Keyv store, inspected through a second connection on the same namespace. */
function keyvCase(store: "redis" | "postgres", atomicAcrossProcesses: boolean): ScaleCase {
  const options = { url: serviceUrl(store), namespace };
  return {
    label: `${store} (Keyv)`,
    store,
    service: store,
    options,
    inspect: () => inspectStore(store, options),
    atomicAcrossProcesses,
  };
}

const CASES: ScaleCase[] = [
  keyvCase("redis", true),
  {
    label: "database (postgres)",
    store: "database",
    service: "postgres",
    options: { url: postgres.url, table },
    inspect: () => installedTable(postgres, table), // close() drops the table
    atomicAcrossProcesses: true,
  },
  // Keyv's postgres store merges onto a fresh read, not a compare-and-set: no concurrent variant.
  keyvCase("postgres", false),
];

for (const c of CASES) {
  describe(`two app processes sharing one store: ${c.label}`, function () {
    this.timeout(30000);
    let stored: Backend | undefined;
    let a: AppServer | undefined;
    let b: AppServer | undefined;
    /** Every session id the store was given, deleted after (the Keyv stores keep rows for expireAfter). */
    const ids = new Set<string>();

    async function on(server: AppServer | undefined, jar: Jar, path: string, form?: Record<string, string>) {
      const answer = await send(server!, jar, path, form);
      expect(answer.status, `${path}: ${JSON.stringify(answer.body)}`).to.equal(200);
      if (jar.session) ids.add(jar.session);
      return answer.body;
    }
    const isStored = async (id: string) => (await stored!.get(privateId(id))) !== undefined;

    before(async function () {
      await useService(this, c.service);
      stored = await c.inspect();
      // The same 64-character secret in both: either can open what the other sealed.
      const options = { ...c.options, secret: SECRET };
      [a, b] = await Promise.all([startServer(c.store, options), startServer(c.store, options)]);
    });
    after(async () => {
      await Promise.all([a?.kill(), b?.kill()]);
      if (stored) {
        if (c.store !== "database") for (const id of ids) await stored.delete(privateId(id));
        await stored.close();
      }
    });

    it("the session continues across processes: a counter bumped on A, B, A, B reads 1, 2, 3, 4", async () => {
      const jar = new Jar();
      const seen = [];
      for (const server of [a, b, a, b]) seen.push((await on(server, jar, "/count")).n);
      expect(seen).to.deep.equal([1, 2, 3, 4]);
      expect(await on(a, jar, "/read")).to.deep.equal({ n: "4" });
    });

    it("cycleKey on A is seen by B: the new cookie carries the name there, the old one is an empty session", async () => {
      const jar = new Jar();
      await on(a, jar, "/count");
      await on(b, jar, "/count");
      const old = jar.session!;
      expect(await isStored(old), "the session before sign-in is stored").to.equal(true);

      await on(a, jar, "/sign_in", { name: "ann" });
      expect(jar.session, "sign-in gives a new id").to.be.a("string").and.not.equal(old);
      expect(await on(b, jar, "/count")).to.deep.equal({ n: 3, name: "ann" });

      expect(await isStored(old), "the old record is gone").to.equal(false);
      expect(await on(b, Jar.of(old), "/read"), "the old cookie on B").to.deep.equal({});
      expect(await on(b, Jar.of(old), "/count"), "counting from scratch").to.deep.equal({ n: 1, name: null });
    });

    it("sign-out on B ends the session on both: the pre-sign-out cookie is empty on A, the record is gone", async () => {
      const jar = new Jar();
      await on(a, jar, "/count");
      await on(a, jar, "/sign_in", { name: "bob" });
      expect(await on(b, jar, "/count")).to.deep.equal({ n: 2, name: "bob" });
      const before = jar.session!;
      expect(await isStored(before), "the signed-in session is stored").to.equal(true);

      await on(b, jar, "/sign_out", {});
      expect(jar.session, "sign-out leaves the client without that id").to.not.equal(before);
      expect(await isStored(before), "the record is gone").to.equal(false);
      expect(await on(a, Jar.of(before), "/read"), "the pre-sign-out cookie on A").to.deep.equal({});
      expect(await on(a, Jar.of(before), "/count")).to.deep.equal({ n: 1, name: null });
    });

    if (c.atomicAcrossProcesses) {
      it("concurrent: 20 writes of one session at once, alternating processes, each its own key: none lost", async () => {
        const jar = new Jar();
        await on(a, jar, "/count");
        const id = jar.session!;
        // Each request its own copy of the cookie: concurrent answers must not race on one jar.
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => on(i % 2 ? b : a, Jar.of(id), `/put?k=k${i}&v=${i}`)),
        );
        const data = await on(b, jar, "/read");
        expect(Object.keys(data)).to.have.length(21);
        for (let i = 0; i < 20; i++) expect(data[`k${i}`], `k${i}`).to.equal(String(i));
      });
    }

    it("both processes end by themselves on SIGTERM, exit code 0", async () => {
      const codes = await Promise.all([a!.stop(), b!.stop()]);
      expect(codes).to.deep.equal([0, 0]);
    });
  });
}
