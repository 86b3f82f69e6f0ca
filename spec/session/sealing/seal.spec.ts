import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { sealData, unsealData } from "iron-session";
import { IronSealer, type Unsealed, type UnsealResult } from "../../../src/session/sealing/seal.js";
import { OTHER_SECRET, SECRET, THIRD_SECRET } from "../../support/app.js";
import { type Craft, craftSeal, ironSealWithId as ironSeal } from "../../support/seals.js";

/** A valid-MAC seal of `{"user":"ann"}` unless `o` says otherwise. */
const craft = (o: Craft = {}) => craftSeal({ payload: JSON.stringify({ user: "ann" }), ...o });
const ironSealWithId = (id: string, secret = SECRET) => ironSeal(id, { user: "ann" }, secret);

// Unit specs of the iron `Fe26.2` sealer, with iron-session 8 (and iron-webcrypto, which it wraps) as the
// oracle. iron-session checks expiry against the real clock, so specs that cross over use Date.now().

const HOUR = 3_600_000;
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Replaces the character at `index` of `part` (0-based `*`-separated field) with a different one. */
function flipInPart(seal: string, part: number, index = 0): string {
  const [body, version] = seal.split("~") as [string, string];
  const parts = body.split("*");
  const field = parts[part]!;
  const char = field[index]!;
  const replacement = B64URL[(B64URL.indexOf(char) + 1) % B64URL.length]!;
  parts[part] = field.slice(0, index) + replacement + field.slice(index + 1);
  return `${parts.join("*")}~${version}`;
}

/** A seal with a valid mac of exactly `length` characters: the encryption salt is stretched to fit. */
const BLOB = "x".repeat(2880);
function craftOfLength(length: number): string {
  const payload = JSON.stringify({ blob: BLOB });
  const probe = craft({ payload, encSalt: "s".repeat(64) });
  const sealed = craft({ payload, encSalt: "s".repeat(64 + length - probe.length) });
  expect(sealed).to.have.length(length);
  return sealed;
}

function setPart(seal: string, part: number, value: string): string {
  const [body, version] = seal.split("~") as [string, string];
  const parts = body.split("*");
  parts[part] = value;
  return `${parts.join("*")}~${version}`;
}

/** What iron-session's unsealData does with `seal`: the data, or the error it rejects with. */
async function ironSessionOutcome(seal: string, password: string | Record<string, string> = SECRET) {
  return unsealData<Record<string, unknown>>(seal, { password }).then(
    (data) => ({ data }),
    (error: unknown) => ({ error }),
  );
}

function expectRefused(result: UnsealResult, reason: string): void {
  expect(result).to.deep.equal({ ok: false, reason });
}

describe("IronSealer", () => {
  describe("format", () => {
    it("writes Fe26.2*1*encSalt*iv*ciphertext*expiry*macSalt*mac~2 with the expiry in whole ms", () => {
      const sealer = new IronSealer([SECRET]);
      const sealed = sealer.seal({ a: "1" }, 1_800_000_000_000.7);
      expect(sealed).to.match(/^Fe26\.2\*1\*[\w-]{22}\*[\w-]{22}\*[\w-]+\*\d+\*[\w-]{22}\*[\w-]{43}~2$/);
      expect(sealed.split("*")[5]).to.equal("1800000000000");
    });

    it("draws its two salts at random, 128 bits each: another sealer (process) has others", () => {
      const salts = (sealed: string) => [sealed.split("*")[2], sealed.split("*")[6]];
      const [encA, macA] = salts(new IronSealer([SECRET]).seal({}, Date.now() + HOUR));
      const [encB, macB] = salts(new IronSealer([SECRET]).seal({}, Date.now() + HOUR));
      expect(new Set([encA, macA, encB, macB]).size).to.equal(4);
      expect(Buffer.from(encA!, "base64url")).to.have.length(16);
    });

    it("gives every seal a fresh IV, so the same data never seals to the same value", () => {
      const sealer = new IronSealer([SECRET]);
      const a = sealer.seal({ a: "1" }, Date.now() + HOUR);
      const b = sealer.seal({ a: "1" }, Date.now() + HOUR);
      expect(a.split("*")[3]).to.not.equal(b.split("*")[3]);
      expect(a.split("*")[4]).to.not.equal(b.split("*")[4]);
    });

    it("needs at least one secret", () => {
      expect(() => new IronSealer([])).to.throw(TypeError, /at least one secret/);
    });
  });

  describe("interop with iron-session 8", () => {
    const data = {
      user: "ann",
      note: '🦦 é "quoted" *~',
      n: 42,
      flag: true,
      list: ["a"],
      nested: { x: "y" },
    };

    it("writes seals that iron-session's unsealData opens with the same secret string", async () => {
      const sealed = new IronSealer([SECRET]).seal(data, Date.now() + HOUR);
      expect(await ironSessionOutcome(sealed)).to.deep.equal({ data });
    });

    it("every seal of a long run through the one CBC stream opens with iron-session and a fresh sealer", async () => {
      // Payload lengths around block boundaries (full padding block included), multi-byte UTF-8, empty data:
      // each seal is chained from the previous one, so every one must still stand alone.
      const sealer = new IronSealer([SECRET]);
      const payloads = Array.from({ length: 40 }, (_, i) =>
        i === 0 ? {} : { v: "x".repeat(i), u: i % 3 === 0 ? "🦦é".repeat(i) : "" },
      );
      const seals = payloads.map((p) => sealer.seal(p, Date.now() + HOUR));
      const reader = new IronSealer([SECRET]); // no cache of the writer's: real MAC and decryption
      for (const [i, sealed] of seals.entries()) {
        expect(await ironSessionOutcome(sealed), `seal ${i}`).to.deep.equal({ data: payloads[i] });
        const opened = reader.unseal(sealed, Date.now());
        expect(opened.ok && opened.data, `seal ${i}`).to.deep.equal(payloads[i]);
      }
    });

    it("never uses the previous seal's last ciphertext block as the next IV (the predictable-IV flaw)", () => {
      const sealer = new IronSealer([SECRET]);
      const ivs = new Set<string>();
      let previous = sealer.seal({ a: "1" }, Date.now() + HOUR);
      for (let i = 0; i < 200; i++) {
        const next = sealer.seal({ a: "1" }, Date.now() + HOUR);
        const lastBlock = Buffer.from(previous.split("*")[4]!, "base64url").subarray(-16);
        const iv = Buffer.from(next.split("*")[3]!, "base64url");
        expect(iv).to.have.length(16);
        expect(iv.equals(lastBlock), `seal ${i}`).to.equal(false);
        ivs.add(iv.toString("hex"));
        previous = next;
      }
      expect(ivs.size).to.equal(200);
    });

    it("writes seals iron-session cannot open with another secret", async () => {
      const sealed = new IronSealer([SECRET]).seal(data, Date.now() + HOUR);
      expect(await ironSessionOutcome(sealed, OTHER_SECRET)).to.deep.equal({ data: {} });
    });

    it("opens what iron-session's sealData writes with a string password", async () => {
      const before = Date.now();
      const sealed = await sealData(data, { password: SECRET, ttl: 3600 });
      const after = Date.now();
      const result = new IronSealer([SECRET]).unseal(sealed, Date.now());
      expect(result.ok).to.equal(true);
      const opened = result as Extract<UnsealResult, { ok: true }>;
      expect(opened.data).to.deep.equal(data);
      expect(opened.oldSecret).to.equal(false);
      expect(opened.expiresAt).to.be.within(before + HOUR, after + HOUR);
    });

    it("opens what iron-session's sealData writes with a password map {2: new, 1: old}", async () => {
      const sealed = await sealData(data, { password: { 2: OTHER_SECRET, 1: SECRET }, ttl: 3600 });
      expect(sealed.split("*")[1], "iron-session seals with the highest id").to.equal("2");
      const current = new IronSealer([OTHER_SECRET]).unseal(sealed, Date.now());
      expect(current).to.include({ ok: true, oldSecret: false });
      expect((current as Extract<UnsealResult, { ok: true }>).data).to.deep.equal(data);
      expect(new IronSealer([OTHER_SECRET, SECRET]).unseal(sealed, Date.now())).to.include({
        ok: true,
        oldSecret: false,
      });
      expectRefused(new IronSealer([SECRET]).unseal(sealed, Date.now()), "mac");
    });

    it("crafts valid seals in these specs (the helper agrees with iron-session)", async () => {
      expect(await ironSessionOutcome(craft({ payload: '{"user":"bob"}' }))).to.deep.equal({
        data: { user: "bob" },
      });
      expect(new IronSealer([SECRET]).unseal(craft(), Date.now())).to.include({ ok: true });
    });
  });

  describe("secret rotation", () => {
    it("opens a seal made with the old secret A by [B, A], flagged oldSecret", () => {
      const now = Date.now();
      const sealed = new IronSealer([SECRET]).seal({ user: "ann" }, now + HOUR);
      const rotated = new IronSealer([OTHER_SECRET, SECRET]).unseal(sealed, now);
      expect(rotated).to.deep.equal({
        ok: true,
        data: { user: "ann" },
        expiresAt: Math.floor(now + HOUR),
        oldSecret: true,
      });
    });

    it("opens it unflagged with A still current", () => {
      const now = Date.now();
      const sealed = new IronSealer([SECRET]).seal({ user: "ann" }, now + HOUR);
      expect(new IronSealer([SECRET, OTHER_SECRET]).unseal(sealed, now)).to.include({
        ok: true,
        oldSecret: false,
      });
    });

    it("refuses it with reason mac once A is removed ([B] alone)", () => {
      const now = Date.now();
      const sealed = new IronSealer([SECRET]).seal({ user: "ann" }, now + HOUR);
      expectRefused(new IronSealer([OTHER_SECRET]).unseal(sealed, now), "mac");
    });

    it("finds the old secret among several ([C, B, A])", () => {
      const now = Date.now();
      const sealed = new IronSealer([SECRET]).seal({ user: "ann" }, now + HOUR);
      expect(new IronSealer([THIRD_SECRET, OTHER_SECRET, SECRET]).unseal(sealed, now)).to.include({
        ok: true,
        oldSecret: true,
      });
    });

    it("seals with the current secret B under the same password id", async () => {
      const sealed = new IronSealer([OTHER_SECRET, SECRET]).seal({ user: "ann" }, Date.now() + HOUR);
      expect(sealed.split("*")[1]).to.equal("1");
      expect(new IronSealer([OTHER_SECRET]).unseal(sealed, Date.now())).to.include({
        ok: true,
        oldSecret: false,
      });
      expectRefused(new IronSealer([SECRET]).unseal(sealed, Date.now()), "mac");
      expect(await ironSessionOutcome(sealed, OTHER_SECRET)).to.deep.equal({ data: { user: "ann" } });
    });

    it("opens an iron-session seal made with the old secret, flagged oldSecret", async () => {
      const sealed = await sealData({ user: "ann" }, { password: SECRET });
      expect(new IronSealer([OTHER_SECRET, SECRET]).unseal(sealed, Date.now())).to.include({
        ok: true,
        oldSecret: true,
      });
    });
  });

  describe("bad seals: a reason, never a throw", () => {
    const now = Date.now();
    /** A genuine seal, opened by a fresh sealer with the same secret (no cache involved). */
    const genuine = () => new IronSealer([SECRET]).seal({ user: "ann" }, now + HOUR);
    const reader = () => new IronSealer([SECRET]);

    const cases: [name: string, make: () => string | Promise<string>, reason: string][] = [
      ["a character of the ciphertext flipped", () => flipInPart(genuine(), 4, 3), "mac"],
      ["a character of the iv flipped", () => flipInPart(genuine(), 3, 3), "mac"],
      ["a character of the mac flipped", () => flipInPart(genuine(), 7, 3), "mac"],
      ["the encryption salt replaced", () => setPart(genuine(), 2, "f".repeat(64)), "mac"],
      ["a character of the mac salt flipped", () => flipInPart(genuine(), 6, 0), "mac"],
      ["a later expiry under the old mac", () => setPart(genuine(), 5, String(now + 100 * HOUR)), "mac"],
      ["another password id under the old mac", () => setPart(genuine(), 1, "2"), "mac"],
      [
        "the mac's last character changed in its unused low bits",
        () => {
          const sealed = genuine();
          const mac = sealed.split("*")[7]!.slice(0, -2);
          const last = B64URL.indexOf(mac.at(-1)!);
          return setPart(sealed, 7, mac.slice(0, -1) + B64URL[last ^ 1]);
        },
        "mac",
      ],
      [
        "junk appended to the mac",
        () => {
          const sealed = genuine();
          return setPart(sealed, 7, `${sealed.split("*")[7]!.slice(0, -2)}!!`);
        },
        "mac",
      ],
      [
        "truncated to half its length",
        () => {
          const sealed = genuine();
          return sealed.slice(0, Math.floor(sealed.length / 2));
        },
        "malformed",
      ],
      ["truncated by its last three characters", () => genuine().slice(0, -3), "mac"],
      ["garbage", () => "not a seal at all", "malformed"],
      ["random base64url", () => randomBytes(240).toString("base64url"), "malformed"],
      ["empty", () => "", "malformed"],
      ["eight *-parts of junk", () => "a*b*c*d*e*f*g*h", "prefix"],
      [
        "eight *-parts behind a Fe26.2 prefix",
        () => `Fe26.2*1*abcd*efgh*ijkl*${now + HOUR}*mnop*qrst~2`,
        "mac",
      ],
      [
        "a salt with characters iron never writes",
        () => `Fe26.2*1*ab.cd*efgh*ijkl*${now + HOUR}*mnop*qrst~2`,
        "malformed",
      ],
      ["nine *-parts", () => genuine().replace("~2", "*x~2"), "malformed"],
      ["expired (expiresAt == now)", () => craft({ expiry: String(now) }), "expired"],
      ["expired (expiresAt < now)", () => craft({ expiry: String(now - HOUR) }), "expired"],
      ["a wrong password", () => craft({ secret: THIRD_SECRET }), "mac"],
      ["the Fe26.1 prefix, valid mac", () => craft({ prefix: "Fe26.1" }), "prefix"],
      ["a non-numeric expiry, valid mac", () => craft({ expiry: "soon" }), "expiry"],
      ["a negative expiry, valid mac", () => craft({ expiry: `-${now + HOUR}` }), "expiry"],
      ["a fractional expiry, valid mac", () => craft({ expiry: `${now + HOUR}.5` }), "expiry"],
      ["a missing expiry, valid mac", () => craft({ expiry: "" }), "expiry"],
      ["a ~3 version suffix", () => craft({ suffix: "~3" }), "version"],
      ["a ~2~2 version suffix", () => craft({ suffix: "~2~2" }), "version"],
      [
        "over 4096 characters, valid mac",
        () => craft({ payload: JSON.stringify({ blob: "x".repeat(3100) }) }),
        "oversize",
      ],
      ["password id __proto__, valid mac", () => ironSealWithId("__proto__"), "password-id"],
      ["password id constructor, valid mac", () => ironSealWithId("constructor"), "password-id"],
      ["password id toString, valid mac", () => ironSealWithId("toString"), "password-id"],
      ["a payload that is not JSON, valid mac", () => craft({ payload: "{not json" }), "payload"],
    ];

    for (const [name, make, reason] of cases) {
      it(`${name} -> ${reason}`, async () => {
        const sealed = await make();
        let result: UnsealResult | undefined;
        expect(() => {
          result = reader().unseal(sealed, now);
        }).to.not.throw();
        expectRefused(result!, reason);
      });
    }

    it("over 4096 characters even for the sealer that wrote it (and iron-session would open it)", async () => {
      const sealer = new IronSealer([SECRET]);
      const sealed = sealer.seal({ blob: "x".repeat(3100) }, Date.now() + HOUR);
      expect(sealed.length).to.be.above(4096);
      expectRefused(sealer.unseal(sealed, Date.now()), "oversize");
      expect(await ironSessionOutcome(sealed)).to.deep.equal({ data: { blob: "x".repeat(3100) } });
    });

    it("reads a valid seal of exactly 4096 characters and refuses one of 4097 as oversize", () => {
      const atLimit = craftOfLength(4096);
      const overLimit = craftOfLength(4097);
      expect(new IronSealer([SECRET]).unseal(atLimit, now)).to.deep.include({
        ok: true,
        data: { blob: BLOB },
      });
      expectRefused(new IronSealer([SECRET]).unseal(overLimit, now), "oversize");
    });

    it("refuses every single-character change of a valid seal, without throwing", () => {
      const sealed = genuine();
      const sealer = reader();
      const accepted: string[] = [];
      for (let i = 0; i < sealed.length; i++) {
        const at = B64URL.indexOf(sealed[i]!);
        // Deterministic: flip the lowest and the highest bit of a base64url digit, and try separators.
        const replacements = at === -1 ? ["A", "0"] : [B64URL[at ^ 1]!, B64URL[at ^ 32]!];
        for (const replacement of [...replacements, "*", "~", "."]) {
          if (sealed[i] === replacement) continue;
          const changed = sealed.slice(0, i) + replacement + sealed.slice(i + 1);
          const result = sealer.unseal(changed, now);
          if (result.ok) accepted.push(`${i}:${replacement}`);
        }
      }
      expect(accepted, "changed positions that still opened").to.deep.equal([]);
    });
  });

  describe("iron-session as the oracle: it throws where we answer a reason", () => {
    const cases: [name: string, make: () => string | Promise<string>, reason: string][] = [
      ["the Fe26.1 prefix", () => craft({ prefix: "Fe26.1" }), "prefix"],
      ["a non-numeric expiry", () => craft({ expiry: "soon" }), "expiry"],
      ["password id __proto__", () => ironSealWithId("__proto__"), "password-id"],
      ["password id constructor", () => ironSealWithId("constructor"), "password-id"],
    ];
    for (const [name, make, reason] of cases) {
      it(`${name}: unsealData rejects, ours answers ${reason}`, async () => {
        const sealed = await make();
        const outcome = await ironSessionOutcome(sealed);
        expect(outcome).to.have.property("error").that.is.instanceOf(Error);
        expectRefused(new IronSealer([SECRET]).unseal(sealed, Date.now()), reason);
      });
    }

    it("while a valid-mac seal under password id 2 is read by both", async () => {
      const sealed = craft({ id: "2" });
      expect(await ironSessionOutcome(sealed, { 2: SECRET })).to.deep.equal({ data: { user: "ann" } });
      expect(new IronSealer([SECRET]).unseal(sealed, Date.now())).to.include({ ok: true });
    });
  });

  describe("caching", () => {
    it("refuses a value verified once when its expiry passes", () => {
      const t0 = Date.UTC(2026, 0, 1);
      const sealer = new IronSealer([SECRET]);
      const sealed = craft({ expiry: String(t0 + 10_000) });
      expect(sealer.unseal(sealed, t0)).to.include({ ok: true, expiresAt: t0 + 10_000 });
      expect(sealer.unseal(sealed, t0 + 9_999)).to.include({ ok: true });
      expectRefused(sealer.unseal(sealed, t0 + 10_000), "expired");
      expectRefused(sealer.unseal(sealed, t0 + 20_000), "expired");
    });

    it("refuses a value it sealed itself once its expiry passes", () => {
      const t0 = Date.UTC(2026, 0, 1);
      const sealer = new IronSealer([SECRET]);
      const sealed = sealer.seal({ a: "1" }, t0 + 10_000);
      expect(sealer.unseal(sealed, t0 + 9_999)).to.include({ ok: true });
      expectRefused(sealer.unseal(sealed, t0 + 10_000), "expired");
    });

    it("never answers from the cache for a value that only shares a cached seal's tail (its MAC)", () => {
      const sealer = new IronSealer([SECRET]);
      const now = Date.now();
      const sealed = sealer.seal({ user: "ann" }, now + HOUR);
      expect(sealer.unseal(sealed, now)).to.include({ ok: true }); // cached
      // Same MAC and suffix (so the same cache key), a changed ciphertext: a forgery, verified from scratch.
      const forged = flipInPart(sealed, 4, 2);
      expect(forged.slice(-48)).to.equal(sealed.slice(-48));
      expectRefused(sealer.unseal(forged, now), "mac");
      // And the forgery did not displace the real seal.
      expect(sealer.unseal(sealed, now)).to.deep.include({ ok: true, data: { user: "ann" } });
    });

    it("keeps the oldSecret flag of a cached verification", () => {
      const sealed = craft({ secret: SECRET });
      const sealer = new IronSealer([OTHER_SECRET, SECRET]);
      expect(sealer.unseal(sealed, Date.now())).to.include({ ok: true, oldSecret: true });
      expect(sealer.unseal(sealed, Date.now())).to.include({ ok: true, oldSecret: true });
    });

    it("answers what the seal holds, even to the sealer that wrote it", () => {
      const sealer = new IronSealer([SECRET]);
      const data: Record<string, unknown> = { a: "1", at: new Date(0), gone: undefined };
      const sealed = sealer.seal(data, Date.now() + HOUR);
      data.a = "changed after sealing";
      const expected = { a: "1", at: "1970-01-01T00:00:00.000Z" };
      expect(new IronSealer([SECRET]).unseal(sealed, Date.now())).to.deep.include({ data: expected });
      expect(sealer.unseal(sealed, Date.now())).to.deep.include({ data: expected });
    });

    it("sealOwned: opens to the payload it was handed (no parse), which any other sealer reads alike", async () => {
      const sealer = new IronSealer([SECRET]);
      const payload = { a: "1", __stoat: { c: 1_800_000_000 } };
      const sealed = sealer.sealOwned(payload, Date.now() + HOUR);
      const own = sealer.unseal(sealed, Date.now());
      expect(own).to.deep.include({ ok: true, oldSecret: false });
      expect((own as Unsealed).data).to.equal(payload);
      expect(new IronSealer([SECRET]).unseal(sealed, Date.now())).to.deep.include({ data: payload });
      expect(await unsealData(sealed, { password: SECRET })).to.deep.equal(payload);
    });

    it("stays correct across many distinct salts (bounded caches evict, nothing breaks)", () => {
      const now = Date.now();
      const sealer = new IronSealer([SECRET]);
      const seals = Array.from({ length: 3000 }, (_, i) =>
        craft({ payload: JSON.stringify({ i: String(i) }) }),
      );
      for (const [i, sealed] of seals.entries()) {
        expect(sealer.unseal(sealed, now)).to.deep.include({ ok: true, data: { i: String(i) } });
      }
      // The first ones were evicted from both caches: they are verified again, with the right keys.
      for (const i of [0, 1, 2, 1500, 2999]) {
        expect(sealer.unseal(seals[i]!, now)).to.deep.include({ ok: true, data: { i: String(i) } });
      }
      expectRefused(sealer.unseal(flipInPart(seals[0]!, 4, 2), now), "mac");
      // A cached derived key belongs to one secret: reusing a verified seal's salts under another fails.
      const [, , encSalt, , , , macSalt] = seals[2999]!.split("*");
      expect([encSalt, macSalt].map((salt) => salt?.length)).to.deep.equal([64, 64]);
      expectRefused(sealer.unseal(craft({ secret: THIRD_SECRET, encSalt, macSalt }), now), "mac");
      // Its own seals still work after all that churn.
      expect(sealer.unseal(sealer.seal({ own: "yes" }, now + HOUR), now)).to.deep.include({
        ok: true,
        data: { own: "yes" },
      });
    });
  });
});
