import { expect } from "chai";
import { emptyRecord } from "../../../src/session/record.js";
import { snapshotOf } from "../../../src/session/stores/merge.js";
import { noteRead, readOf } from "../../../src/session/stores/read_note.js";

// What a server-side store read a record as is noted on the record (read_note.ts): only the store that
// loaded it gets it back, and a record no store loaded has none (a new session, or one flush() replaced).

describe("read notes", () => {
  const storeA = {};
  const storeB = {};

  it("gives the noting store back what it read the record as", () => {
    const record = emptyRecord(1000);
    const snapshot = snapshotOf("em1:stored", record);
    noteRead(storeA, record, snapshot);
    expect(readOf(storeA, record)).to.equal(snapshot);
  });

  it("gives nothing to another store, nor for a record no store loaded", () => {
    const record = emptyRecord(1000);
    noteRead(storeA, record, snapshotOf("em1:stored", record));
    expect(readOf(storeB, record)).to.equal(undefined);
    expect(readOf(storeA, emptyRecord(1000))).to.equal(undefined);
  });

  it("keeps the note out of the record's serialisable fields", () => {
    const record = emptyRecord(1000);
    noteRead(storeA, record, snapshotOf("em1:stored", record));
    expect(Object.keys(record)).to.deep.equal(["data", "flash", "createdAt"]);
    expect(JSON.parse(JSON.stringify(record))).to.deep.equal({ data: {}, flash: {}, createdAt: 1000 });
  });

  it("a later load's note replaces an earlier one", () => {
    const record = emptyRecord(1000);
    noteRead(storeA, record, snapshotOf("em1:first", record));
    noteRead(storeA, record, snapshotOf("em1:second", record));
    expect(readOf(storeA, record)?.data).to.equal("em1:second");
  });
});
