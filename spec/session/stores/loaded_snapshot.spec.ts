import { expect } from "chai";
import { emptyRecord } from "../../../src/session/record.js";
import { loadedSnapshot, rememberLoad } from "../../../src/session/stores/loaded_snapshot.js";
import { snapshotOf } from "../../../src/session/stores/merge.js";

// What a server-side store loaded a record as is remembered on the record (loaded_snapshot.ts): only the
// store that loaded it gets it back, and a record no store loaded has none (a new session, or one flush()
// replaced).

describe("loaded snapshots", () => {
  const storeA = {};
  const storeB = {};

  it("gives the loading store back what it loaded the record as", () => {
    const record = emptyRecord(1000);
    const snapshot = snapshotOf("em1:stored", record);
    rememberLoad(storeA, record, snapshot);
    expect(loadedSnapshot(storeA, record)).to.equal(snapshot);
  });

  it("gives nothing to another store, nor for a record no store loaded", () => {
    const record = emptyRecord(1000);
    rememberLoad(storeA, record, snapshotOf("em1:stored", record));
    expect(loadedSnapshot(storeB, record)).to.equal(undefined);
    expect(loadedSnapshot(storeA, emptyRecord(1000))).to.equal(undefined);
  });

  it("keeps the snapshot out of the record's serialisable fields", () => {
    const record = emptyRecord(1000);
    rememberLoad(storeA, record, snapshotOf("em1:stored", record));
    expect(Object.keys(record)).to.deep.equal(["data", "flash", "createdAt"]);
    expect(JSON.parse(JSON.stringify(record))).to.deep.equal({ data: {}, flash: {}, createdAt: 1000 });
  });

  it("a later load's snapshot replaces an earlier one", () => {
    const record = emptyRecord(1000);
    rememberLoad(storeA, record, snapshotOf("em1:first", record));
    rememberLoad(storeA, record, snapshotOf("em1:second", record));
    expect(loadedSnapshot(storeA, record)?.data).to.equal("em1:second");
  });
});
