import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import {
  type Application,
  Handler,
  type RoutesDefinition,
  type SessionOptions,
  type SessionRecord,
  type SessionStore,
} from "stoat";
import request from "supertest";
import { newSessionId as newId, privateId } from "../../src/session/ids.js";
import type { Backend } from "../../src/session/stores/backend.js";
import { cookieValue, listen, OTHER_SECRET, SECRET, setCookieFor, testApp } from "./app.js";
import { Gate, heldAt, raceCycleKeys } from "./gate.js";
import { type BinaryName, type ServiceName, useBinary, useService } from "./services.js";

/**
 * The one suite every store runs (Django's sessions_tests): spec/session/stores/store_contract.spec.ts lists
 * the stores and calls this once for each. The first cases drive the SessionStore itself; the rest go through
 * an app over HTTP. Where a store cannot behave like the others, it says so in `differences`, with the reason,
 * and the suite checks the documented behaviour instead (or, where there is nothing to check, skips the case
 * with the reason in its title).
 */
export interface StoreContractOptions {
  /** The service the store needs: unreachable fails under CI, skips with the reason elsewhere. */
  service?: ServiceName;
  /** Programs the store's suite starts itself (a Redis Cluster): missing fails under CI, skips elsewhere. */
  binaries?: BinaryName[];
  /** Runs once after the gates, before any case: starts what the store needs, installs its table. */
  setUp?(): Promise<void>;
  /** Runs once after every case. */
  tearDown?(): Promise<void>;
  /** Builds a fresh store; `cleanup` runs after each test. */
  make(): Promise<{ store: SessionStore; cleanup?: () => Promise<void> }>;
  /** The store as an app names it: `store` in the config (undefined: the default cookie store). */
  store?: string;
  /** The store's session options (besides the secret) for the cases over HTTP. */
  options(): SessionOptions & Record<string, unknown>;
  /**
   * A second connection to what is stored, `get` by hashed id answering the raw stored string; absent for
   * stores nothing else can look into (the memory store, the cookie store).
   */
  inspect?(): Promise<Backend>;
  /** How the suite makes the store unreachable and brings it back; absent when it has no network. */
  outage?(): Promise<Outage>;
  differences?: StoreDifferences;
}

/** An outage the spec controls: the options point an app at the store through what `cut` breaks. */
export interface Outage {
  options: SessionOptions & Record<string, unknown>;
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** Releases what the outage holds (a proxy); called once, after the case. */
  close(): Promise<void>;
  /**
   * Why a request during the outage waits out the store's timeout instead of failing at once. Such an outage
   * also leaves out the sign-out: a delete already sent when the timeout fires may still run once the server
   * resumes, so a sign-out answered 503 can have taken effect after all.
   */
  slowToFail?: string;
}

/** Each a written reason; the suite checks the behaviour named instead of the common one. */
export interface StoreDifferences {
  /**
   * The store keeps nothing server-side, so `destroy` cannot revoke a value already handed out: a copied
   * value still loads until it expires, and a request in flight during a sign-out sends its own copy back
   * (cookie store).
   */
  destroyKeepsCopies?: string;
  /**
   * Every save returns a new value, so an update is found under the new value only, and two requests that
   * change one session each answer a value of their own: the browser keeps the last (cookie store).
   */
  newValueOnEverySave?: string;
  /** No id to move: cycleKey() has nothing to race on (cookie store). */
  noIdToCycle?: string;
  /** One app's process holds the data: a second app never sees it (memory store). */
  oneProcessOnly?: string;
  /**
   * No compare-and-set: writers in other processes merge onto a read made right before the write, so only a
   * change landing outside that window is guaranteed kept, and a move across processes is not atomic.
   */
  noCompareAndSet?: string;
  /** The size bound the store enforces before writing, with the error named and the reason. */
  sizeLimit?: SizeLimit;
}

export interface SizeLimit {
  reason: string;
  error: "CookieOverflowError" | "SessionOverflowError";
  /** What the error's message says (the bound). */
  message: RegExp;
  /** Session options that raise the bound above a 1 MB session, when the store has such an option. */
  raised?: SessionOptions & Record<string, unknown>;
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function record(entries: Record<string, string> = {}): SessionRecord {
  return { data: new Map(Object.entries(entries)), flash: new Map(), createdAt: T0 };
}

async function loadedRecord(
  store: SessionStore,
  value: string,
  now: number,
): Promise<SessionRecord | undefined> {
  const result = await store.load(value, now);
  return result && "record" in result ? result.record : undefined;
}

/** Saves and checks that the store answered a cookie value (not "gone"). */
async function save(store: SessionStore, ...args: Parameters<SessionStore["save"]>): Promise<string> {
  const value = await store.save(...args);
  expect(value, "save answers a cookie value").to.be.a("string");
  return value!;
}

// ---------------------------------------------------------------------------------------------------------
// The app the cases over HTTP drive.

/** Requests parked in their handler until the case lets them go (one case at a time uses it). */
let gate: Gate | undefined;

/** 1 MB that is not one repeated character, so a truncation or a shifted chunk shows. */
const ONE_MB = 1_000_000;
const pattern = (n: number) =>
  Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 94))).join("");

class Probe extends Handler {
  async read() {
    this.json({ id: this.session.id ?? null, data: this.session.toJSON() });
  }
  async set() {
    this.session.set(this.params.k ?? "a", this.params.v ?? "1");
    this.json({ id: this.session.id ?? null });
  }
  async flush() {
    this.session.flush();
    this.redirect("/");
  }
  async plain() {
    this.respond("no session needed");
  }
  async big() {
    this.session.set("blob", pattern(Number(this.params.n)));
    this.json({ id: this.session.id ?? null });
  }
  async slow() {
    this.session.set(this.params.k ?? "late", "1");
    await gate!.enter();
    this.json({ ok: true });
  }
  async touchSlow() {
    this.session.get("a"); // reads only: the commit is a touch
    await gate!.enter();
    this.json({ ok: true });
  }
  async cycle() {
    this.session.cycleKey();
    if (this.params.k) this.session.set(this.params.k, "1");
    await gate!.enter();
    this.json({ id: this.session.id ?? null });
  }
}

const ACTIONS = ["read", "set", "flush", "plain", "big", "slow", "touchSlow", "cycle"];
const routes: RoutesDefinition = (r) => {
  for (const action of ACTIONS) r.get(`/${action}`, Probe, action);
};
const cookie = (value: string) => `_stoat_session=${value}`;

/**
 * The cases a store declares it differs on, with the reasons: not run (a skipped spec is a failure under
 * CI), but listed by one case per store that checks each names a reason (contractCase).
 */
type Declared = { title: string; reason: string }[];
let declaring: Declared = [];

/** Registers `title` as a case of the suite, or, when the store declared a difference, records it instead. */
function contractCase(reason: string | undefined, title: string, fn: Mocha.AsyncFunc): void {
  if (reason === undefined) it(title, fn);
  else declaring.push({ title, reason });
}

export function storeContract(name: string, options: StoreContractOptions): void {
  const differ = options.differences ?? {};

  describe(`store contract: ${name}`, function () {
    this.timeout(30_000);
    let backend: Backend | undefined;
    const differences: Declared = [];
    declaring = differences;

    before(async function () {
      this.timeout(60_000); // a Redis Cluster takes a few seconds to form on a busy machine
      if (options.service) await useService(this, options.service);
      for (const binary of options.binaries ?? []) useBinary(this, binary);
      await options.setUp?.();
      // After setUp: the database store's second connection installs the table its cases use.
      backend = await options.inspect?.();
    });
    after(async () => {
      await backend?.close();
      await options.tearDown?.();
    });

    describe("the store itself", () => {
      let store: SessionStore;
      let cleanup: (() => Promise<void>) | undefined;

      beforeEach(async () => {
        ({ store, cleanup } = await options.make());
      });
      afterEach(async () => {
        await cleanup?.();
      });

      it("finds nothing under a value it never issued, well-formed or not", async () => {
        expect(await loadedRecord(store, "never-issued-value", T0)).to.equal(undefined);
        expect(await loadedRecord(store, newId(), T0)).to.equal(undefined);
      });

      it("round-trips data, flash, creation time and per-session expiry", async () => {
        // Built from pairs: in an object literal `__proto__: "p"` would not be a key at all.
        const saved = record({ user: "ann", empty: "", emoji: "🦦 é", constructor: "c" });
        saved.data.set("__proto__", "p");
        saved.flash.set("notice", "hi");
        saved.maxAge = 600;
        saved.browserSession = true;
        const value = await save(store, saved, T0 + 60_000, newId(), T0);
        const result = await store.load(value, T0 + 1000);
        expect(result && "record" in result, "loaded").to.equal(true);
        const loaded = (result as { record: SessionRecord; expiresAt: number }).record;
        expect([...loaded.data]).to.deep.equal([...saved.data]);
        expect([...loaded.flash]).to.deep.equal([["notice", "hi"]]);
        expect(loaded.createdAt).to.equal(T0);
        expect(loaded.maxAge).to.equal(600);
        expect(loaded.browserSession).to.equal(true);
        expect((result as { expiresAt: number }).expiresAt).to.equal(T0 + 60_000);
        expect(loaded.data.get("__proto__")).to.equal("p");
      });

      it("upserts: a second save of changed data is what loads", async () => {
        const id = newId();
        const first = await save(store, record({ a: "1" }), T0 + 60_000, id, T0);
        const second = await save(store, record({ a: "2", b: "3" }), T0 + 60_000, id, T0);
        expect(Object.fromEntries((await loadedRecord(store, second, T0))!.data)).to.deep.equal({
          a: "2",
          b: "3",
        });
        if (differ.newValueOnEverySave) {
          expect(second).to.not.equal(first);
        } else {
          expect(second).to.equal(first);
        }
      });

      it("destroys idempotently", async () => {
        const value = await save(store, record({ a: "1" }), T0 + 60_000, newId(), T0);
        await store.destroy(value);
        await store.destroy(value);
        if (differ.destroyKeepsCopies) {
          expect(await loadedRecord(store, value, T0), "a copied value stays valid").to.not.equal(undefined);
        } else {
          expect(await loadedRecord(store, value, T0)).to.equal(undefined);
        }
      });

      it("enforces expiry on read", async () => {
        const value = await save(store, record({ a: "1" }), T0 + 10_000, newId(), T0);
        expect(await loadedRecord(store, value, T0 + 9_999)).to.not.equal(undefined);
        expect(await loadedRecord(store, value, T0 + 10_000)).to.equal(undefined);
      });

      it("touch moves the expiry of an unchanged record", async () => {
        const rec = record({ a: "1" });
        const value = await save(store, rec, T0 + 10_000, newId(), T0);
        const touched = await store.touch(rec, T0 + 20_000, value, T0);
        expect(Object.fromEntries((await loadedRecord(store, touched, T0 + 15_000))!.data)).to.deep.equal({
          a: "1",
        });
        expect(await loadedRecord(store, touched, T0 + 20_000)).to.equal(undefined);
      });
    });

    describe("over HTTP", () => {
      const apps: Application[] = [];
      let http: ReturnType<typeof request>;

      /** An app on this store, its errors collected (listened to before callback(), so Koa prints none). */
      function app(extra: SessionOptions & Record<string, unknown> = {}) {
        const made = testApp({
          routes,
          ...(options.store ? { store: options.store } : {}),
          options: { ...options.options(), ...extra },
        });
        const errors: (Error & { code?: string })[] = [];
        made.koa.on("error", (error: Error) => errors.push(error));
        apps.push(made);
        return { app: made, http: request(made.callback()), errors };
      }
      const read = async (value: string, on = http) =>
        (await on.get("/read").set("Cookie", cookie(value))).body.data;
      /** What the store holds under a session's hashed id (a second connection; undefined: nothing). */
      const stored = (id: string) => backend!.get(privateId(id));
      const serverSide = !differ.destroyKeepsCopies;

      beforeEach(() => {
        // touchAfter 0: a request that only reads touches, so a touch in flight can be tested too.
        ({ http } = app({ touchAfter: 0 }));
      });
      afterEach(async () => {
        gate?.release();
        gate = undefined;
        await Promise.all(apps.splice(0).map((a) => a.close()));
      });

      // --- concurrency -------------------------------------------------------------------------------

      it("two requests each setting their own key: both kept", async () => {
        const first = cookieValue(await http.get("/set?k=a&v=1"))!;
        gate = new Gate();
        const slow = await heldAt(gate, http.get("/slow?k=slow").set("Cookie", cookie(first)));
        const fast = await http.get("/set?k=fast&v=1").set("Cookie", cookie(first));
        gate.release();
        const late = await slow.answer;
        expect(late.status).to.equal(200);
        if (differ.newValueOnEverySave) {
          // Each response carries the record as its request left it; the browser keeps the one that came last.
          expect(await read(cookieValue(fast)!)).to.deep.equal({ a: "1", fast: "1" });
          expect(await read(cookieValue(late)!)).to.deep.equal({ a: "1", slow: "1" });
          return;
        }
        expect(await read(first)).to.deep.equal({ a: "1", fast: "1", slow: "1" });
      });

      contractCase(
        differ.oneProcessOnly ?? differ.newValueOnEverySave,
        "a slow write in one app merges onto a change another app made meanwhile",
        async () => {
          const other = app().http;
          const first = cookieValue(await http.get("/set?k=a&v=1"))!;
          gate = new Gate();
          const slow = await heldAt(gate, http.get("/slow?k=slow").set("Cookie", cookie(first)));
          await other.get("/set?k=fast&v=1").set("Cookie", cookie(first));
          gate.release();
          expect((await slow.answer).status).to.equal(200);
          expect(await read(first, other)).to.deep.equal({ a: "1", fast: "1", slow: "1" });
        },
      );

      contractCase(
        differ.newValueOnEverySave,
        "50 concurrent writers in one app, each setting its own key: no update lost",
        async () => {
          const id = cookieValue(await http.get("/set?k=seed&v=0"))!;
          const responses = await Promise.all(
            Array.from({ length: 50 }, (_, i) => http.get(`/set?k=k${i}&v=${i}`).set("Cookie", cookie(id))),
          );
          expect(responses.map((r) => r.status)).to.deep.equal(Array(50).fill(200));
          const data = await read(id);
          expect(Object.keys(data)).to.have.length(51);
          for (let i = 0; i < 50; i++) expect(data[`k${i}`], `k${i}`).to.equal(String(i));
        },
      );

      contractCase(
        differ.oneProcessOnly ?? differ.newValueOnEverySave ?? differ.noCompareAndSet,
        "compare-and-set: 20 concurrent writers spread over two apps, no update lost",
        async () => {
          const second = app().http;
          const id = cookieValue(await http.get("/set?k=seed&v=0"))!;
          const responses = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              (i % 2 ? second : http).get(`/set?k=k${i}&v=${i}`).set("Cookie", cookie(id)),
            ),
          );
          expect(responses.map((r) => r.status)).to.deep.equal(Array(20).fill(200));
          const data = await read(id);
          for (let i = 0; i < 20; i++) expect(data[`k${i}`], `k${i}`).to.equal(String(i));
        },
      );

      it("destroy wins over a save: a request in flight while another flushes does not bring it back", async () => {
        const id = cookieValue(await http.get("/set?k=user&v=ann"))!;
        gate = new Gate();
        const slow = await heldAt(gate, http.get("/slow?k=late").set("Cookie", cookie(id)));
        const signedOut = await http.get("/flush").set("Cookie", cookie(id));
        expect(cookieValue(signedOut)).to.equal("");
        gate.release();
        const late = await slow.answer;
        expect(late.status).to.equal(200);
        if (differ.destroyKeepsCopies) {
          // The late response sends the session it had, copy and all: only a server-side store can refuse it.
          expect(await read(cookieValue(late)!)).to.deep.equal({ user: "ann", late: "1" });
          return;
        }
        expect(cookieValue(late), "the slow response clears the cookie").to.equal("");
        if (backend) expect(await stored(id)).to.equal(undefined);
        expect(await read(id)).to.deep.equal({});
      });

      it("destroy wins over a touch: a touch in flight while another flushes does not bring it back", async () => {
        const id = cookieValue(await http.get("/set?k=a&v=1"))!;
        gate = new Gate();
        const slow = await heldAt(gate, http.get("/touchSlow").set("Cookie", cookie(id)));
        await http.get("/flush").set("Cookie", cookie(id));
        gate.release();
        const late = await slow.answer;
        expect(late.status).to.equal(200);
        if (differ.destroyKeepsCopies) {
          expect(await read(cookieValue(late)!), "the touched copy").to.deep.equal({ a: "1" });
          return;
        }
        if (backend) expect(await stored(id)).to.equal(undefined);
        expect(await read(id)).to.deep.equal({});
      });

      // "One valid id": the old id is gone, exactly one new id holds the data, and only the request that
      // moved it sends a Set-Cookie (the other sends none, so the browser keeps the winner's id).
      const parallelCycle = async (second: ReturnType<typeof request>) => {
        const id = cookieValue(await http.get("/set?k=user&v=ann"))!;
        gate = new Gate();
        const { responses, winner, fresh } = await raceCycleKeys(gate, [
          http.get("/cycle?k=first").set("Cookie", cookie(id)),
          second.get("/cycle?k=second").set("Cookie", cookie(id)),
        ]);
        expect(fresh).to.not.equal("").and.to.not.equal(id);
        const other = responses.find((r) => r !== winner)!;
        expect(other.body.id, "the loser's id was never stored").to.not.equal(fresh);
        expect(await read(id), "the old id is gone").to.deep.equal({});
        expect(await read(other.body.id)).to.deep.equal({});
        expect((await read(fresh)).user).to.equal("ann");
        if (backend) {
          expect(await stored(id)).to.equal(undefined);
          expect(await stored(other.body.id)).to.equal(undefined);
        }
      };

      contractCase(
        differ.noIdToCycle,
        "two parallel cycleKey() calls in one app end on exactly one id",
        async () => {
          await parallelCycle(http);
        },
      );

      contractCase(
        differ.noIdToCycle ?? differ.oneProcessOnly ?? differ.noCompareAndSet,
        "two parallel cycleKey() calls in two apps end on exactly one id (an atomic move)",
        async () => {
          await parallelCycle(app().http);
        },
      );

      // --- size ----------------------------------------------------------------------------------------

      it("a 1 MB session: over the store's bound, the named error and nothing written; else kept exactly", async () => {
        const limit = differ.sizeLimit;
        const bigWrite = async (extra: SessionOptions & Record<string, unknown> = {}) => {
          const made = app(extra);
          const small = cookieValue(await made.http.get("/set?k=user&v=ann"))!;
          const res = await made.http.get(`/big?n=${ONE_MB}`).set("Cookie", cookie(small));
          return { ...made, small, res };
        };
        const expectExact = async (on: ReturnType<typeof request>, value: string) => {
          const data = await read(value, on);
          expect(Object.keys(data)).to.deep.equal(["user", "blob"]);
          expect(data.blob.length).to.equal(ONE_MB);
          expect(data.blob === pattern(ONE_MB), "the 1 MB value came back different").to.equal(true);
        };
        if (!limit) {
          const { http: on, small, res } = await bigWrite();
          expect(res.status).to.equal(200);
          await expectExact(on, cookieValue(res) ?? small);
          return;
        }
        // Answered 500: the app stored too much, which is no fault of the client's.
        const refused = await bigWrite();
        const before = serverSide && backend ? await stored(refused.small) : undefined;
        expect(refused.res.status).to.equal(500);
        expect(setCookieFor(refused.res), "no cookie change").to.equal(undefined);
        expect(refused.errors.map((e) => e.name)).to.deep.equal([limit.error]);
        expect(refused.errors[0]!.message).to.match(limit.message);
        expect(await read(refused.small, refused.http)).to.deep.equal({ user: "ann" });
        if (before !== undefined) expect(await stored(refused.small), "nothing written").to.equal(before);
        if (limit.raised) {
          const raised = await bigWrite(limit.raised);
          expect(raised.res.status).to.equal(200);
          expect(raised.errors).to.deep.equal([]);
          expect(cookieValue(raised.res) ?? raised.small, "the same id").to.equal(raised.small);
          await expectExact(raised.http, raised.small);
        }
      });

      // --- at rest -------------------------------------------------------------------------------------

      it("stores only the hashed id (2:: + SHA-256) and only ciphertext", async () => {
        const marker = `plaintext-marker-${Date.now().toString(36)}`;
        const written = await http.get(`/set?k=secret&v=${marker}`);
        const value = cookieValue(written)!;
        if (!serverSide) {
          // The record travels in the cookie: sealed, so the client holds no plaintext either.
          expect(value).to.match(/^Fe26\.2\*/);
          expect(decodeURIComponent(value)).to.not.include(marker);
          return;
        }
        expect(value).to.match(/^[A-Za-z0-9_-]{43}$/);
        expect(privateId(value)).to.match(/^2::[0-9a-f]{64}$/);
        // No second connection (the memory store): the id checks above are what can be seen from outside.
        if (!backend) return;
        const raw = await stored(value);
        expect(raw).to.be.a("string").that.matches(/^em1:/);
        expect(raw).to.not.include(marker);
        expect(raw).to.not.include(value);
        expect(await backend.get(value), "nothing under the public id").to.equal(undefined);
      });

      contractCase(
        differ.oneProcessOnly,
        "rotates secrets at rest: the old secret still opens, the next save rewrites under the new one",
        async () => {
          const id = cookieValue(await http.get("/set?k=user&v=ann"))!;
          const untouched = cookieValue(await http.get("/set?k=user&v=bob"))!;
          const rotated = app({ secret: OTHER_SECRET, oldSecret: SECRET }).http;
          expect(await read(id, rotated)).to.deep.equal({ user: "ann" });
          const rewritten = cookieValue(await rotated.get("/set?k=more&v=1").set("Cookie", cookie(id))) ?? id;
          const onlyNew = app({ secret: OTHER_SECRET }).http;
          expect(await read(rewritten, onlyNew), "opens with the new secret alone").to.deep.equal({
            user: "ann",
            more: "1",
          });
          const events = listen("stoat:session:suspicious");
          try {
            expect(await read(untouched, onlyNew), "once the old secret is removed").to.deep.equal({});
            expect(events.messages).to.have.length(1);
            expect(events.messages[0]!.store).to.equal(options.store ?? "cookie");
            if (serverSide)
              expect(events.messages[0]).to.deep.equal({ reason: "decrypt", store: options.store });
          } finally {
            events.stop();
          }
        },
      );

      // --- bad input -----------------------------------------------------------------------------------

      it("refuses a malformed id before any store access", async () => {
        const reads = listen("stoat:session:read");
        const suspicious = listen("stoat:session:suspicious");
        try {
          for (const bad of ["../x", "a/b", "*", "%", "'", "x".repeat(10_000), privateId(newId())]) {
            const res = await http.get("/read").set("Cookie", cookie(bad));
            expect(res.status, bad).to.equal(200);
            expect(res.body.data).to.deep.equal({});
          }
          expect(reads.messages).to.deep.equal([]);
          expect(suspicious.messages.map((m) => m.reason)).to.include("malformed");
        } finally {
          reads.stop();
          suspicious.stop();
        }
      });

      // --- outage --------------------------------------------------------------------------------------

      contractCase(
        options.outage ? undefined : "no network between the app and its data to lose",
        "an outage: 503 with Retry-After, no cookie change, and recovery with the data, no restart",
        async () => {
          const outage = await options.outage!();
          try {
            const { http: on, errors } = app({ ...outage.options, timeout: 1 });
            const id = cookieValue(await on.get("/set?k=user&v=ann"))!;

            await outage.cut();
            const started = performance.now();
            const down = await on.get("/read").set("Cookie", cookie(id));
            expect(down.status).to.equal(503);
            expect(down.headers["retry-after"]).to.equal("5");
            expect(setCookieFor(down)).to.equal(undefined);
            if (!outage.slowToFail) {
              expect(performance.now() - started, "fails fast, not after the timeout").to.be.below(900);
              // Left out where calls time out: a delete already sent may still run once the server resumes.
              const signOut = await on.get("/flush").set("Cookie", cookie(id));
              expect(signOut.status, "a sign-out that could not reach the store must not look done").to.equal(
                503,
              );
              expect(setCookieFor(signOut)).to.equal(undefined);
              expect(signOut.headers.location).to.equal(undefined);
            }
            const write = await on.get("/set?k=x&v=1");
            expect(write.status).to.equal(503);
            expect(setCookieFor(write)).to.equal(undefined);
            expect((await on.get("/plain")).status, "a route without the session still answers").to.equal(
              200,
            );
            expect(errors.length).to.be.at.least(2);
            expect(errors.map((e) => e.code)).to.deep.equal(errors.map(() => "E_SESSION_STORE_UNAVAILABLE"));

            await outage.restore();
            let back: request.Response | undefined;
            for (let i = 0; i < 100 && back?.status !== 200; i++) {
              if (back) await sleep(100);
              back = await on.get("/read").set("Cookie", cookie(id));
            }
            expect(back!.status, "recovers without a restart").to.equal(200);
            expect(back!.body.data).to.deep.equal({ user: "ann" });
          } finally {
            await outage.close();
          }
        },
      );
    });

    if (differences.length > 0) {
      const list = differences.map((d) => `${d.title}: ${d.reason}`).join("; ");
      it(`declares where it differs, each with its reason (${list})`, () => {
        for (const { title, reason } of differences) {
          expect(reason.split(/\s+/).length, `the reason ${title} is not run`).to.be.at.least(3);
        }
      });
    }
  });
}
