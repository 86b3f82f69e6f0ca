import { expect } from "chai";
import { type Application, Handler, type RoutesDefinition, type SessionStore } from "stoat";
import { testApp } from "./app.js";
import { watchedStore } from "./counting_backend.js";

// The HTTP side of the hot-session specs: an app over a given store instance on a real listening server,
// N concurrent requests of one session each setting its own key, and a way to wait until a number of
// loads or saves have reached the store (so a spec can hold a backend call until all requests queued).

/** Concurrent requests per burst. */
export const N = 50;

class Probe extends Handler {
  async put() {
    this.session.set(this.params.k ?? "k", "1");
    this.json({ ok: true });
  }
  async read() {
    this.json(this.session.toJSON());
  }
}

const routes: RoutesDefinition = (r) => {
  r.get("/put", Probe, "put");
  r.get("/read", Probe, "read");
};

export interface Answer {
  status: number;
  cookie: string | undefined;
  body: Record<string, string>;
}

export interface HotApp {
  app: Application;
  get(path: string, cookie?: string): Promise<Answer>;
  /** A new session holding `seed: "1"`; its cookie. */
  seed(): Promise<string>;
  /** N requests of the session `cookie`, each setting its own key k0..k(N-1). */
  putAll(cookie: string, base?: string): Promise<Answer>[];
  /** Resolves once `count` loads or saves have reached the store, counted from this call. */
  reached(method: "load" | "save", count: number): Promise<void>;
  /**
   * putAll with the first guarded write held (`hold` holds it and returns its release) until all N requests
   * have reached the store's save, and `meanwhile` has run; their answers.
   */
  burst(cookie: string, hold: () => () => void, meanwhile?: () => Promise<unknown>): Promise<Answer[]>;
}

/** The N keys putAll sets, as the session answers them. */
export const allKeys = (): Record<string, string> =>
  Object.fromEntries(Array.from({ length: N }, (_, i) => [`k${i}`, "1"]));

/** Serves an app over `store` on 127.0.0.1 (close it with `app.close()`). */
export async function hotApp(store: SessionStore): Promise<HotApp> {
  let waiter: { method: "load" | "save"; count: number; seen: number; reached: () => void } | undefined;
  const watched = watchedStore(store, (method) => {
    if (waiter?.method === method && ++waiter.seen === waiter.count) waiter.reached();
  });
  const app = testApp({ routes, store: watched });
  await app.listen(0, "127.0.0.1");
  const base = `http://127.0.0.1:${app.port}`;
  const get = (path: string, cookie?: string, at = base) =>
    fetch(`${at}${path}`, cookie ? { headers: { cookie } } : {}).then(async (res) => ({
      status: res.status,
      cookie: res.headers.get("set-cookie")?.split(";")[0],
      body: (await res.json()) as Record<string, string>,
    }));
  const reached = (method: "load" | "save", count: number) =>
    new Promise<void>((resolve) => {
      waiter = { method, count, seen: 0, reached: resolve };
    });
  const putAll = (cookie: string, at = base) =>
    Array.from({ length: N }, (_, i) => get(`/put?k=k${i}`, cookie, at));
  return {
    app,
    get: (path, cookie) => get(path, cookie),
    async seed() {
      const res = await get("/put?k=seed");
      expect(res.status).to.equal(200);
      return res.cookie!;
    },
    putAll,
    reached,
    async burst(cookie, hold, meanwhile) {
      const release = hold();
      const allSaving = reached("save", N);
      const answers = putAll(cookie);
      await allSaving; // the first write is held; the other N - 1 wait behind it
      await meanwhile?.();
      release();
      return Promise.all(answers);
    },
  };
}
