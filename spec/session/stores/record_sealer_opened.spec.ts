import { expect } from "chai";
import { RecordSealer } from "../../../src/session/sealing/record_sealer.js";

// RecordSealer remembers what a stored string opened to, so an unchanged session is not decrypted on every
// read: a remembered value must open to a fresh record, and any other string is still authenticated.

describe("RecordSealer's opened values", () => {
  const options = { secrets: ["s".repeat(64)], encrypt: true, serializer: "msgpack" } as const;

  it("opens a value it wrote or opened before to a fresh, equal record", () => {
    const sealer = new RecordSealer(options);
    const record = { data: new Map([["n", "1"]]), flash: new Map(), createdAt: 1000 };
    const stored = sealer.encode(record, 5000);
    const first = sealer.decode(stored)!;
    first.record.data.set("n", "changed");
    const second = sealer.decode(stored)!;
    expect(second.record.data.get("n")).to.equal("1");
    expect(second.expiresAt).to.equal(5000);
    expect(new RecordSealer(options).decode(stored)?.record.data.get("n")).to.equal("1");
  });

  it("still refuses a value changed by one character, even next to one it knows", () => {
    const sealer = new RecordSealer(options);
    const stored = sealer.encode({ data: new Map([["n", "1"]]), flash: new Map(), createdAt: 1000 }, 5000);
    // A character inside the base64 (not the last before padding, whose low bits may be unused: changing
    // those spells the same bytes, which do authenticate).
    const at = Math.floor(stored.length / 2);
    const tampered = stored.slice(0, at) + (stored[at] === "A" ? "B" : "A") + stored.slice(at + 1);
    expect(sealer.decode(tampered)).to.equal(undefined);
    expect(sealer.decode(stored)).to.not.equal(undefined);
  });
});
