import { expect } from "chai";
import { formatResult, type MeterStore, measureLostUpdates } from "../meter.js";
import { type ServiceName, useService } from "./support/services.js";

// No lost updates, measured by the lost-update meter (meter.ts) over real HTTP servers: one session, N
// concurrent writes each setting its own key, then one read.

const log = (line: string) => process.stdout.write(`      ${line}\n`);

describe("lost-update meter", function () {
  this.timeout(60000);

  it("redis: lost = 0 at N = 200, in one app and shared by four (compare-and-set)", async function () {
    await useService(this, "redis");
    for (const apps of [1, 4]) {
      const result = await measureLostUpdates("redis", 200, apps);
      log(formatResult(result));
      expect(result.statuses, "every write answered 200").to.deep.equal({ 200: 200 });
      expect(result.lost).to.equal(0);
    }
  });

  it("database (sqlite): lost = 0 at N = 50, in one app and shared by four", async () => {
    for (const apps of [1, 4]) {
      const result = await measureLostUpdates("database", 50, apps);
      log(formatResult(result));
      expect(result.lost).to.equal(0);
    }
  });

  // The other Keyv stores merge onto a read made right before the write, and one session's commits take
  // turns within a process: lost = 0 in one app is guaranteed. Across processes a write landing in another
  // process's read-to-write window is lost: recorded, not asserted (Stoat's README, Concurrency).
  const freshRead: { store: MeterStore; service?: ServiceName }[] = [
    { store: "memory" },
    { store: "memcache", service: "memcache" },
    { store: "sqlite" },
    { store: "postgres", service: "postgres" },
    { store: "mysql", service: "mysql" },
  ];
  for (const { store, service } of freshRead) {
    it(`${store}: lost = 0 at N = 100 in one app; shared by four apps, the loss is recorded`, async function () {
      if (service) await useService(this, service);
      const single = await measureLostUpdates(store, 100, 1);
      log(formatResult(single));
      expect(single.statuses).to.deep.equal({ 200: 100 });
      expect(single.lost).to.equal(0);
      if (store === "memory") return; // one process only
      const shared = await measureLostUpdates(store, 100, 4);
      log(`${formatResult(shared)}  (fresh-read merge across processes: not guaranteed)`);
      expect(shared.statuses, "never a 5xx").to.deep.equal({ 200: 100 });
      expect(shared.found).to.be.greaterThan(0);
    });
  }
});
