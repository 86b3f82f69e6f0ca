import { expect } from "chai";
import { emptyRecord, fromPayload, RESERVED_KEY, toPayload } from "../../src/session/record.js";

// A payload is what the cookie store seals (and what its verified-seal cache keeps): the user's keys as own
// properties of an object no key can reach a prototype through, and Stoat's bookkeeping under RESERVED_KEY.

describe("toPayload", () => {
  const record = () => {
    const r = emptyRecord(1_700_000_000_000);
    for (const key of ["__proto__", "constructor", "toString", "hasOwnProperty", "user"])
      r.data.set(key, `v-${key}`);
    return r;
  };

  it("keeps every key, __proto__ and constructor included, as an own property", () => {
    const payload = toPayload(record());
    expect(Object.keys(payload)).to.deep.equal([
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
      "user",
      RESERVED_KEY,
    ]);
    for (const key of ["__proto__", "constructor", "toString", "hasOwnProperty", "user"])
      expect(Object.getOwnPropertyDescriptor(payload, key)?.value, key).to.equal(`v-${key}`);
  });

  it("has no Object.prototype in its chain, and a __proto__ key does not change its prototype", () => {
    const payload = toPayload(record());
    const prototype = Object.getPrototypeOf(payload);
    expect(prototype === null || Object.getPrototypeOf(prototype) === null).to.equal(true);
    expect(prototype === null ? [] : Reflect.ownKeys(prototype)).to.deep.equal([]);
    expect(Object.getPrototypeOf(toPayload(emptyRecord(0)))).to.equal(prototype);
    expect("hasOwnProperty" in toPayload(emptyRecord(0))).to.equal(false);
  });

  it("serialises and reads back to the same record", () => {
    const original = record();
    const back = fromPayload(JSON.parse(JSON.stringify(toPayload(original))), 0)!;
    expect([...back.data]).to.deep.equal([...original.data]);
    expect(back.createdAt).to.equal(original.createdAt);
    expect(fromPayload(toPayload(original), 0)?.data.get("__proto__")).to.equal("v-__proto__");
  });
});
