import { expect } from "chai";
import type { Knex } from "knex";
import { ServerStore } from "../../../../src/session/stores/server_store.js";
import { type AppServer, startServer } from "../../../scale_out/processes.js";
import { SECRET } from "../../../support/app.js";
import { type CountingBackend, countingBackend } from "../../../support/counting_backend.js";
import { allKeys, type HotApp, hotApp, N } from "../../../support/hot_session.js";
import { useService } from "../../../support/services.js";
import { type BuiltStore, buildStore, DIALECTS, dropTables, rawDatabase, uniqueTable } from "./dialects.js";

// The hot session on the `database` store, on each dialect, over real HTTP: N concurrent requests of one
// session in one process, each setting its own key. Counted in the statements the store runs on its driver:
// the requests that queued behind a write go out as one guarded UPDATE merged onto the row this process just
// wrote (no UPDATE that misses, no SELECT after a write), and every key arrives. A writer in another process
// (a second app process on the same table) costs one retry. The moment a write goes out is chosen by
// holding the backend's next call, never by a timer.

for (const dialect of DIALECTS) {
  describe(`a hot session on the database store (${dialect.name})`, function () {
    this.timeout(30_000);
    const table = uniqueTable("hot");
    let built: BuiltStore;
    let backend: CountingBackend;
    let hot: HotApp;
    let raw: Knex;
    let statements: string[] = [];
    const verbs = () => statements.map((sql) => sql.trimStart().split(/\s/)[0]!.toUpperCase());
    const count = (verb: string) => verbs().filter((v) => v === verb).length;

    before(async function () {
      if (dialect.service) await useService(this, dialect.service);
      raw = rawDatabase(dialect);
      built = await buildStore(dialect, { table });
      await built.store.admin!.install();
      built.onStatement((sql) => statements.push(sql));
      backend = countingBackend(built.backend!);
      hot = await hotApp(
        new ServerStore("database", backend, { secrets: [SECRET], encrypt: true, serializer: "msgpack" }),
      );
    });
    after(async () => {
      await hot?.app.close(); // closes the table's backend, and with it the connection of app.sessions
      if (raw) await dropTables(raw, [table]).finally(() => raw.destroy());
    });

    it(`writes the ${N - 1} requests that queued behind a write as one guarded UPDATE: no miss, every key kept`, async () => {
      const cookie = await hot.seed();
      backend.reset();
      statements = [];
      const answers = await hot.burst(cookie, () => backend.holdNext("compareAndSet"));
      expect(answers.map((a) => a.status)).to.deep.equal(Array(N).fill(200));
      expect(backend.missed).to.equal(0);
      expect(count("UPDATE")).to.equal(2);
      expect(count("SELECT")).to.equal(backend.calls.getVersioned); // the loads' reads, none after a write
      expect(count("SELECT")).to.be.at.most(N);
      expect(verbs().filter((v) => v !== "UPDATE" && v !== "SELECT")).to.deep.equal([]);
      expect((await hot.get("/read", cookie)).body).to.deep.equal({ seed: "1", ...allKeys() });
    });

    it(`shares one SELECT among the ${N} loads of one session that start while it is in flight`, async () => {
      const cookie = await hot.seed();
      backend.reset();
      statements = [];
      const release = backend.holdNext("getVersioned");
      const allLoaded = hot.reached("load", N);
      const answers = Array.from({ length: N }, () => hot.get("/read", cookie));
      await allLoaded;
      release();
      for (const answer of await Promise.all(answers)) expect(answer.body).to.deep.equal({ seed: "1" });
      expect(verbs()).to.deep.equal(["SELECT"]);
    });

    describe("with a writer in another process", () => {
      let other: AppServer | undefined;
      before(async () => {
        other = await startServer("database", { url: dialect.url, table, secret: SECRET });
      });
      after(() => other?.kill());

      it("a write of the other process between ours costs one retry, and every key of both arrives", async () => {
        const cookie = await hot.seed();
        backend.reset();
        statements = [];
        // While this process's first write is held, the other process writes the same session.
        const answers = await hot.burst(
          cookie,
          () => backend.holdNext("compareAndSet"),
          async () =>
            expect((await fetch(`${other!.base}/put?k=theirs`, { headers: { cookie } })).status).to.equal(
              200,
            ),
        );
        expect(answers.map((a) => a.status)).to.deep.equal(Array(N).fill(200));
        expect(backend.missed).to.equal(1); // the held UPDATE, guarded by data the other process replaced
        expect(count("UPDATE")).to.equal(3);
        expect((await hot.get("/read", cookie)).body).to.deep.equal({ seed: "1", theirs: "1", ...allKeys() });
      });
    });
  });
}
