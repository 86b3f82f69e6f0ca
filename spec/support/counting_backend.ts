import type { Backend, SessionStore } from "stoat";

// A real backend with its calls counted, and a hold on the next call of one kind: specs of how many reads
// and guarded writes the store core makes, with the moment a call goes out chosen by the spec, not a timer.

type Counted = "get" | "getVersioned" | "set" | "delete" | "compareAndSet" | "compareAndMove";

export interface CountingBackend extends Backend {
  /** Calls made, by method. */
  calls: Record<Counted, number>;
  /** Guarded writes (compareAndSet, compareAndMove) that answered false. */
  missed: number;
  reset(): void;
  /** The next call of `method` waits until the returned function is called. */
  holdNext(method: Counted): () => void;
}

export function countingBackend(inner: Backend): CountingBackend {
  const zero = (): Record<Counted, number> => ({
    get: 0,
    getVersioned: 0,
    set: 0,
    delete: 0,
    compareAndSet: 0,
    compareAndMove: 0,
  });
  const holds = new Map<Counted, Promise<void>>();
  const counting: CountingBackend = {
    calls: zero(),
    missed: 0,
    reset() {
      counting.calls = zero();
      counting.missed = 0;
    },
    holdNext(method) {
      let release!: () => void;
      holds.set(method, new Promise<void>((resolve) => (release = resolve)));
      return release;
    },
    get: (key) => call("get", () => inner.get(key)),
    set: (key, value, ttl, of) => call("set", () => inner.set(key, value, ttl, of)),
    delete: (key) => call("delete", () => inner.delete(key)),
    close: () => inner.close(),
  };
  async function call<T>(method: Counted, run: () => Promise<T>): Promise<T> {
    counting.calls[method]++;
    const hold = holds.get(method);
    if (hold) {
      holds.delete(method);
      await hold;
    }
    return run();
  }
  const guarded = async <T extends boolean | string>(method: Counted, run: () => Promise<T>) => {
    const answer = await call(method, run);
    if (answer === false) counting.missed++;
    return answer;
  };
  if (inner.getVersioned)
    counting.getVersioned = (key) => call("getVersioned", () => inner.getVersioned!(key));
  if (inner.compareAndSet)
    counting.compareAndSet = (...args) => guarded("compareAndSet", () => inner.compareAndSet!(...args));
  if (inner.compareAndMove)
    counting.compareAndMove = (...args) => guarded("compareAndMove", () => inner.compareAndMove!(...args));
  return counting;
}

/** `store` as an app is given it, calling `onCall(method, count)` as each load or save reaches it. */
export function watchedStore(
  store: SessionStore,
  onCall: (method: "load" | "save", count: number) => void,
): SessionStore {
  const counts = { load: 0, save: 0 };
  return {
    name: store.name,
    usesIds: store.usesIds,
    movesOnCycle: store.movesOnCycle,
    load(...args) {
      const answer = store.load(...args);
      onCall("load", ++counts.load);
      return answer;
    },
    save(...args) {
      const answer = store.save(...args);
      onCall("save", ++counts.save);
      return answer;
    },
    touch: (...args) => store.touch(...args),
    destroy: (...args) => store.destroy(...args),
    close: () => store.close?.() ?? Promise.resolve(),
  } as SessionStore;
}
