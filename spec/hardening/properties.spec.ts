import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { expect } from "chai";
import fc from "fast-check";
import { type Application, Handler, type RoutesDefinition } from "stoat";
import request from "supertest";
import { IronSealer } from "../../src/session/sealing/seal.js";
import { cookieValue, OTHER_SECRET, SECRET } from "../support/app.js";
import { removeScratch, STORES, storeOpener } from "./stores.js";

// Property-based specs with fast-check.
// (a) Any sequence of set/delete/clear/cycleKey/flush over arbitrary string keys and values round-trips
//     exactly through every store, across requests, against a model Map kept by the test.
// (b) The unsealer never throws on arbitrary strings or mutated seals, and the whole middleware never
//     answers 5xx to an arbitrary Cookie header.

type Op = ["set", string, string] | ["delete", string] | ["clear"] | ["cycleKey"] | ["flush"];

class Ops extends Handler {
  /** Applies a JSON list of operations to the session, in order. */
  async apply() {
    const ops = (this.ctx.request as { body?: unknown }).body as Op[];
    for (const op of ops) {
      if (op[0] === "set") this.session.set(op[1], op[2]);
      else if (op[0] === "delete") this.session.delete(op[1]);
      else if (op[0] === "clear") this.session.clear();
      else if (op[0] === "cycleKey") this.session.cycleKey();
      else this.session.flush();
    }
    this.json({ ok: true });
  }
  async read() {
    this.json([...this.session.entries()]);
  }
}

const routes: RoutesDefinition = (r) => {
  r.post("/apply", Ops, "apply");
  r.get("/read", Ops, "read");
  for (const method of ["get", "post", "put", "patch", "delete"] as const) r[method]("/body", Ops, "read");
};

const stores = storeOpener(routes);
after(async () => {
  await stores.close();
  removeScratch();
});

const COOKIE = "_stoat_session";

/** Keys: the awkward ones, and arbitrary unicode strings (never the reserved "__stoat"). */
const keyArb = fc.oneof(
  fc.constantFrom("__proto__", "", "constructor", "hasOwnProperty", "caf\u00e9", "cafe\u0301", "\u{1F9A6}"),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 8 }),
);
/** Values: small enough that six of them fit the cookie store's 4 KB. */
const valueArb = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 24 }),
  fc.string({ unit: "binary", maxLength: 16 }),
);

/** A run: a pool of at most 6 keys (bounding the session's size), then requests of 1-4 operations each. */
const scenarioArb = fc
  .uniqueArray(
    keyArb.filter((k) => k !== "__stoat"),
    { minLength: 1, maxLength: 6 },
  )
  .chain((keys) => {
    const k = fc.constantFrom(...keys);
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constant("set" as const), k, valueArb) },
      { weight: 2, arbitrary: fc.tuple(fc.constant("delete" as const), k) },
      { weight: 1, arbitrary: fc.constant(["clear"] as Op) },
      { weight: 1, arbitrary: fc.constant(["cycleKey"] as Op) },
      { weight: 1, arbitrary: fc.constant(["flush"] as Op) },
    );
    return fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 });
  });

const byKey = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** Strings Node's HTTP client accepts in a header value: tab, printable ASCII, and latin1 0x80-0xff. */
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.constant(0x09),
);
const headerArb = fc.oneof(
  fc.array(headerChar, { maxLength: 200 }).map((codes) => String.fromCharCode(...codes)),
  fc.array(headerChar, { maxLength: 200 }).map((codes) => `${COOKIE}=${String.fromCharCode(...codes)}`),
  fc
    .tuple(fc.constantFrom("", "a=b; ", `${COOKIE}=x; `, ";"), fc.stringMatching(/^[\w\-*~.%=;' ]{0,120}$/))
    .map(([head, tail]) => `${head}${COOKIE}=${tail}`),
);

/** Bytes as sent: random, or valid JSON or form data, any of them compressed, cut or left as is. */
const payloadArb = fc
  .tuple(
    fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.json().map((text) => Buffer.from(text)),
      fc
        .dictionary(fc.string(), fc.string())
        .map((form) => Buffer.from(new URLSearchParams(form).toString())),
    ),
    fc.constantFrom("none", "gzip", "deflate", "br"),
    fc.nat(),
  )
  .map(([bytes, squeeze, cut]) => {
    const packed =
      squeeze === "gzip"
        ? zlib.gzipSync(bytes)
        : squeeze === "deflate"
          ? zlib.deflateSync(bytes)
          : squeeze === "br"
            ? zlib.brotliCompressSync(bytes)
            : bytes;
    return cut % 3 === 0 ? packed.subarray(0, cut % (packed.length + 1)) : packed;
  });
const bodyRequestArb = fc.record({
  method: fc.constantFrom("post", "put", "patch", "delete", "get") as fc.Arbitrary<
    "post" | "put" | "patch" | "delete" | "get"
  >,
  type: fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=iso-8859-1",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/vnd.api+json",
  ),
  encoding: fc.constantFrom("", "gzip", "deflate", "br", "identity", "zstd", "gzip, deflate"),
  body: payloadArb,
});

/** Runs `fn` against `app` listening on a free loopback port (real sockets, as the properties need). */
async function served(app: Application, fn: (base: string) => Promise<void>): Promise<void> {
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe("hardening: properties", function () {
  this.timeout(60000);

  describe("set/delete/clear/cycleKey/flush round-trip through every store, across requests", () => {
    for (const store of STORES) {
      it(`${store.label}: what the next request reads is the model`, async function () {
        const { app } = await stores.open(this, store);
        await served(app, async (base) => {
          await fc.assert(
            fc.asyncProperty(scenarioArb, async (requests) => {
              const model = new Map<string, string>();
              let cookie: string | undefined;
              for (const ops of requests) {
                for (const op of ops) {
                  if (op[0] === "set") model.set(op[1], op[2]);
                  else if (op[0] === "delete") model.delete(op[1]);
                  else if (op[0] === "clear" || op[0] === "flush") model.clear();
                }
                const req = request(base).post("/apply").send(ops);
                const res = await (cookie === undefined ? req : req.set("Cookie", `${COOKIE}=${cookie}`));
                expect(res.status, JSON.stringify(res.body)).to.equal(200);
                const next = cookieValue(res);
                if (next !== undefined) cookie = next === "" ? undefined : next;

                const readReq = request(base).get("/read");
                const read = await (cookie === undefined
                  ? readReq
                  : readReq.set("Cookie", `${COOKIE}=${cookie}`));
                expect(read.status).to.equal(200);
                const got = (read.body as [string, string][]).sort(byKey);
                expect(got).to.deep.equal([...model].sort(byKey));
              }
            }),
            { numRuns: 40 },
          );
        });
      });
    }
  });

  describe("IronSealer.unseal never throws", () => {
    const now = Date.UTC(2026, 0, 1);
    const sealer = new IronSealer([SECRET, OTHER_SECRET]);
    const data = { user: "ann", __stoat: { c: 1 } };
    const valid = sealer.seal(data, now + 3_600_000);
    // A second sealer has not cached `valid`: it runs the whole parse, mac and decrypt path.
    const fresh = () => new IronSealer([OTHER_SECRET, SECRET]);

    function opens(value: string, by: IronSealer = sealer) {
      const result = by.unseal(value, now);
      if (result.ok) expect(result.data, "opened data is only ever the sealed data").to.deep.equal(data);
      else expect(result.reason).to.be.a("string");
      return result;
    }

    it("on arbitrary strings (ascii, grapheme, binary with lone surrogates)", () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ maxLength: 300 }),
            fc.string({ unit: "grapheme", maxLength: 300 }),
            fc.string({ unit: "binary", maxLength: 300 }),
            fc.string({ unit: "binary", minLength: 4090, maxLength: 4200 }),
          ),
          (value) => {
            expect(opens(value).ok).to.equal(false);
          },
        ),
        { numRuns: 500 },
      );
    });

    it("on arbitrary bytes, read as latin1 and as UTF-8", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
          const buffer = Buffer.from(bytes);
          expect(opens(buffer.toString("latin1")).ok).to.equal(false);
          expect(opens(buffer.toString("utf8")).ok).to.equal(false);
        }),
        { numRuns: 500 },
      );
    });

    it("on strings of seal-like fields (eight *-parts, Fe26.2 prefix, ~ suffix)", () => {
      const field = fc.oneof(fc.stringMatching(/^[\w-]{0,70}$/), fc.string({ maxLength: 12 }));
      fc.assert(
        fc.property(
          fc.constantFrom("Fe26.2", "Fe26.1", "", "__proto__"),
          fc.constantFrom("1", "2", "", "__proto__", "constructor", "99999999999"),
          fc.array(field, { minLength: 3, maxLength: 3 }),
          fc.oneof(
            fc.constant(String(now + 1000)),
            fc.stringMatching(/^\d{0,20}$/),
            fc.string({ maxLength: 5 }),
          ),
          fc.array(field, { minLength: 2, maxLength: 2 }),
          fc.constantFrom("~2", "", "~", "~1", "~2~2"),
          (prefix, id, [a, b, c], expiry, [d, e], suffix) => {
            const value = [prefix, id, a, b, c, expiry, d, e].join("*") + suffix;
            expect(opens(value).ok).to.equal(false);
            expect(opens(value, fresh()).ok).to.equal(false);
          },
        ),
        { numRuns: 500 },
      );
    });

    it("on mutations of a valid seal (replace, insert, delete characters); only the same data ever opens", () => {
      const edit = fc.tuple(
        fc.constantFrom("replace", "insert", "delete"),
        fc.nat(),
        fc.oneof(
          fc.constantFrom("*", "~", "A", "-", "_", "0", "=", "%", "\u0000", "\u00e9", "\u{1F9A6}"),
          fc.string({ unit: "binary", minLength: 1, maxLength: 2 }),
        ),
      );
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
          let value = valid;
          for (const [kind, at, text] of edits) {
            const i = at % (value.length + 1);
            if (kind === "replace") value = value.slice(0, i) + text + value.slice(i + 1);
            else if (kind === "insert") value = value.slice(0, i) + text + value.slice(i);
            else value = value.slice(0, i) + value.slice(i + 1);
          }
          opens(value);
          opens(value, fresh());
        }),
        { numRuns: 300 },
      );
    });
  });

  describe("the middleware never answers 5xx to an arbitrary Cookie header", () => {
    for (const store of STORES) {
      it(`${store.label}: 200 with an empty session for every header`, async function () {
        const { app } = await stores.open(this, store);
        await served(app, async (base) => {
          await fc.assert(
            fc.asyncProperty(headerArb, async (header) => {
              const res = await request(base).get("/read").set("Cookie", header);
              expect(res.status, JSON.stringify(header)).to.equal(200);
              expect(res.body).to.deep.equal([]);
            }),
            { numRuns: 150 },
          );
        });
      });
    }
  });

  describe("the app never answers 5xx to an arbitrary body, content type or encoding", () => {
    for (const store of STORES) {
      it(`${store.label}: a 2xx or a 4xx for every request, on POST, PUT, PATCH, DELETE and GET`, async function () {
        const { app } = await stores.open(this, store);
        await served(app, async (base) => {
          await fc.assert(
            fc.asyncProperty(bodyRequestArb, async ({ method, type, encoding, body }) => {
              const req = request(base)[method]("/body").set("Content-Type", type);
              if (encoding !== "") req.set("Content-Encoding", encoding);
              const res = await req.send(body);
              expect(res.status, `${method} ${type} ${encoding}`).to.be.below(500);
            }),
            { numRuns: 60 },
          );
        });
      });
    }
  });
});
