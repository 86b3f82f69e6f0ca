import { expect } from "chai";
import { runFaults } from "../faults/run.js";
import type { ScenarioResult } from "../faults/scenarios.js";
import { useBinary } from "./support/services.js";

// The fault runs in their short form: a Redis killed under load and restarted,
// memcached evicting, PostgreSQL stopped under load, secrets rotated between two app processes. Each
// starts services and app processes of its own (faults/), so this needs redis-server, memcached and
// the PostgreSQL server binaries installed, not running. Each result line is printed as it comes.

describe("fault runs (npm run faults -- --short)", function () {
  this.timeout(120_000);
  let results: ScenarioResult[] = [];

  before(async function () {
    // The programs, not the machine's running services: every scenario starts servers of its own.
    useBinary(this, "redis-server");
    useBinary(this, "memcached");
    useBinary(this, "postgres-server");
    results = await runFaults(true);
  });

  for (const name of [
    "redis-kill",
    "memcached-evict",
    "postgres-stop (database)",
    "postgres-stop (postgres)",
    "secret-rotation (cookie, one-step)",
    "secret-rotation (redis, one-step)",
    "secret-rotation (cookie, two-step)",
  ]) {
    it(`${name}: PASS`, () => {
      const r = results.find((x) => x.name === name);
      expect(r, `no result for ${name}`).to.not.equal(undefined);
      expect(r!.pass, r!.line).to.equal(true);
    });
  }
});
