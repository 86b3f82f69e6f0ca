import { expect } from "chai";
import {
  type Backend,
  ConfigError,
  Handler,
  type RoutesDefinition,
  registerStore,
  serverStoreFactory,
} from "stoat";
import request from "supertest";
import { cookieValue, testApp } from "../../support/app.js";

// A store added from outside the package, through the public API only: the app supplies raw reads and
// writes over a Map, and the shared core gives it hashed ids, encryption at rest, merging and moves.

/** The persistence: a Map, and nothing of sessions in it. */
function mapBackend(): Backend & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    get: async (key) => entries.get(key),
    set: async (key, value) => {
      entries.set(key, value);
    },
    delete: async (key) => entries.delete(key),
    close: async () => {},
  };
}

class Probe extends Handler {
  async set() {
    this.session.set(this.params.k ?? "k", this.params.v ?? "v");
    this.json({ ok: true });
  }
  async read() {
    this.json(this.session.toJSON());
  }
  async signIn() {
    this.session.cycleKey();
    this.json({ ok: true });
  }
}

const routes: RoutesDefinition = (r) => {
  for (const action of ["set", "read", "signIn"]) r.get(`/${action}`, Probe, action);
};

describe("a store of the app's own, over raw reads and writes", () => {
  const backend = mapBackend();
  registerStore(
    "map",
    serverStoreFactory({
      name: "map",
      rules: { label: { check: (v) => (typeof v === "string" ? undefined : "a string") } },
      open: async () => backend,
    }),
  );
  const app = testApp({ routes, store: "map", options: { label: "sessions" } as never });
  const http = request(app.callback());

  it("round-trips a session, keeping only the hashed id and ciphertext", async () => {
    const id = cookieValue(await http.get("/set?k=user&v=ada"))!;
    expect(id).to.match(/^[A-Za-z0-9_-]{43}$/);
    const read = await http.get("/read").set("Cookie", `_stoat_session=${id}`);
    expect(read.body).to.deep.equal({ user: "ada" });
    expect(backend.entries.size).to.equal(1);
    const [key, value] = [...backend.entries][0]!;
    expect(key).to.match(/^2::[0-9a-f]{64}$/);
    expect(value).to.match(/^em1:/).and.not.include("ada");
  });

  it("moves the record on cycleKey() and merges the keys of each request", async () => {
    const id = cookieValue(await http.get("/set?k=a&v=1"))!;
    await http.get("/set?k=b&v=2").set("Cookie", `_stoat_session=${id}`);
    const moved = cookieValue(await http.get("/signIn").set("Cookie", `_stoat_session=${id}`))!;
    expect(moved).to.not.equal(id);
    expect((await http.get("/read").set("Cookie", `_stoat_session=${moved}`)).body).to.deep.equal({
      a: "1",
      b: "2",
    });
    expect((await http.get("/read").set("Cookie", `_stoat_session=${id}`)).body).to.deep.equal({});
  });

  it("checks its own options at boot, beside the common ones", () => {
    expect(() => testApp({ routes, store: "map", options: { label: 42 } as never })).to.throw(
      ConfigError,
      /label/,
    );
    expect(() => testApp({ routes, store: "map", options: { url: "redis://x" } })).to.throw(
      ConfigError,
      /url/,
    );
  });
});
