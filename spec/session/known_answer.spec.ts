import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { CookieStore, type LoadResult } from "stoat";
import { newSessionId, privateId } from "../../src/session/ids.js";
import type { SerializerName } from "../../src/session/sealing/codec.js";
import { IronSealer } from "../../src/session/sealing/seal.js";
import {
  type CookieCase,
  FIXTURES,
  type Fixture,
  type Opened,
  openStore,
  persistedValue,
  plant,
  type RecordView,
  recordOf,
  type ServerCase,
  type ServerKind,
  viewOf,
} from "../fixtures/known_answer/stores.js";

// Known answers: sessions stored by an earlier Stoat keep opening after an upgrade. The fixtures in
// spec/fixtures/known_answer/ were written once, with a fixed secret, by generate.ts next to them; this spec
// only reads them, through real stores, at the fixture's fixed `now` (before every expiry, so they never go
// stale). A failure means the at-rest format, the key derivation, the id hashing or the cookie seal changed:
// every stored session would stop opening. Regenerating is for a deliberate format change with a migration
// path, never to make this pass (docs/developing.md, "Known answers").

function fixture<Case>(name: string): Fixture<Case> {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}_store.json`), "utf8")) as Fixture<Case>;
}

function viewOfLoaded(loaded: LoadResult): RecordView | LoadResult {
  return loaded && "record" in loaded ? viewOf(loaded.record, loaded.expiresAt) : loaded;
}

/** The tagged record: inside Keyv's envelope in a sqlite row, as it is in the other fixtures. */
function recordValue(kind: ServerKind, stored: string): string {
  return kind === "sqlite" ? (JSON.parse(stored) as { value: string }).value : stored;
}

/** Version byte and key id: which key (so which secret, salt and info) an encrypted value is under. */
function keyHeader(value: string): string {
  return Buffer.from(value.slice(4), "base64").subarray(0, 5).toString("hex");
}

const dir = mkdtempSync(join(tmpdir(), "stoat-known-answer-"));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const kind of ["memory", "sqlite", "database"] as const) {
  describe(`known answers: records stored by the ${kind} store`, function () {
    this.timeout(20000);
    const f = fixture<ServerCase>(kind);
    const opened: Opened[] = [];
    after(() => Promise.all(opened.map((o) => o.store.close?.())));

    async function open(secrets: string[], serializer: SerializerName, encrypt: boolean) {
      const o = await openStore(kind, { secrets, serializer, encrypt, dir, clock: () => f.now });
      opened.push(o);
      return o;
    }

    it("keys each record by 2:: and the SHA-256 hex of its session id", () => {
      for (const c of f.cases) expect(privateId(c.id), c.name).to.equal(c.key);
    });

    for (const c of f.cases) {
      it(`opens ${c.name} to the same data, and finds it expired at its expiry`, async () => {
        const store = await open([f.secret, f.oldSecret], c.serializer, c.encrypt);
        await plant(kind, store, dir, c.key, c.stored);
        expect(viewOfLoaded(await store.store.load(c.id, f.now))).to.deep.equal(c.opens);
        expect(await store.store.load(c.id, c.opens.expiresAt)).to.deep.equal({ rejected: "expired" });
      });
    }

    it("refuses a record of the old secret once that secret is removed", async () => {
      for (const c of f.cases.filter((c) => c.sealedWith === "oldSecret")) {
        const store = await open([f.secret], c.serializer, c.encrypt);
        await plant(kind, store, dir, c.key, c.stored);
        expect(await store.store.load(c.id, f.now), c.name).to.deep.equal({ rejected: "decrypt" });
      }
    });

    it("writes the same records in the same format, which a fresh store opens", async () => {
      for (const c of f.cases.filter((c) => c.sealedWith === "secret")) {
        const writer = await open([f.secret, f.oldSecret], c.serializer, c.encrypt);
        const id = newSessionId();
        await writer.store.save(recordOf(c.opens), c.opens.expiresAt, id, f.now);
        const stored = (await persistedValue(kind, writer, dir, privateId(id)))!;
        const [fresh, known] = [recordValue(kind, stored), recordValue(kind, c.stored)];
        expect(fresh.slice(0, 4), c.name).to.equal(known.slice(0, 4));
        // A plain record is written byte for byte as before; an encrypted one under the same key, fresh IV.
        if (c.encrypt) expect(keyHeader(fresh), c.name).to.equal(keyHeader(known));
        else expect(fresh, c.name).to.equal(known);
        if (kind === "sqlite") expect(stored).to.match(/^\{"value":".*","expires":\d+\}$/);
        // A store of its own, whose cache of opened values has never seen this one.
        const reader = await open([f.secret, f.oldSecret], c.serializer, c.encrypt);
        await plant(kind, reader, dir, privateId(id), stored);
        expect(viewOfLoaded(await reader.store.load(id, f.now)), c.name).to.deep.equal(c.opens);
      }
    });
  });
}

describe("known answers: cookies sealed by the cookie store", () => {
  const f = fixture<CookieCase>("cookie");

  for (const c of f.cases) {
    it(`opens ${c.name} to the same data, and finds it expired at its expiry`, () => {
      const store = new CookieStore({ secrets: [f.secret, f.oldSecret] });
      expect(viewOfLoaded(store.load(c.sealed, f.now))).to.deep.equal(c.opens);
      expect(store.load(c.sealed, c.opens.expiresAt)).to.deep.equal({ rejected: "expired" });
    });
  }

  it("says a seal of the old secret was opened with it, and refuses it once that secret is removed", () => {
    for (const c of f.cases.filter((c) => c.sealedWith === "oldSecret")) {
      const opened = new IronSealer([f.secret, f.oldSecret]).unseal(c.sealed, f.now);
      expect(opened.ok && opened.oldSecret, c.name).to.equal(true);
      expect(new CookieStore({ secrets: [f.secret] }).load(c.sealed, f.now)).to.deep.equal({
        rejected: "mac",
      });
    }
  });

  it("writes seals of the same shape, which a fresh store opens", () => {
    for (const c of f.cases.filter((c) => c.sealedWith === "secret")) {
      const sealed = new CookieStore({ secrets: [f.secret] }).save(recordOf(c.opens), c.opens.expiresAt);
      const [fresh, known] = [sealed.split("*"), c.sealed.split("*")];
      // Prefix, password id (iron-session's for a string password), expiry and the version suffix.
      expect([fresh[0], fresh[1], fresh[5], sealed.slice(-2)]).to.deep.equal([
        known[0],
        known[1],
        known[5],
        c.sealed.slice(-2),
      ]);
      const reader = new CookieStore({ secrets: [f.secret, f.oldSecret] });
      expect(viewOfLoaded(reader.load(sealed, f.now)), c.name).to.deep.equal(c.opens);
    }
  });
});
