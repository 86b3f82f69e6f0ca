import { format, inspect } from "node:util";
import { expect } from "chai";
import { InvalidSessionValueError, Session, type SessionRecord } from "stoat";

/** A record built from pairs (not an object literal, so `__proto__` stays a key). */
function record(pairs: [string, string][] = [], flash: [string, string][] = []): SessionRecord {
  return { data: new Map(pairs), flash: new Map(flash), createdAt: 0 };
}

/** A session over `rec`, counting how often its loader runs. */
function loaded(rec: SessionRecord = record()): {
  session: Session;
  rec: SessionRecord;
  loads: () => number;
} {
  let loads = 0;
  const session = new Session(() => {
    loads++;
    return rec;
  });
  return { session, rec, loads: () => loads };
}

function fresh(): Session {
  return new Session(() => ({ data: new Map(), flash: new Map(), createdAt: 0 }));
}

/** Calls session.set with a value TypeScript would refuse, as JavaScript callers can. */
function setUnchecked(session: Session, key: unknown, value: unknown): void {
  (session.set as (key: unknown, value: unknown) => unknown).call(session, key, value);
}

describe("Session", () => {
  describe("lazy loading", () => {
    it("does not call the loader when constructed", () => {
      const { loads } = loaded();
      expect(loads()).to.equal(0);
    });

    it("leaves id, modified and accessed readable without loading", () => {
      const { session, loads } = loaded(record([["a", "1"]]));
      expect(session.id).to.equal(undefined);
      expect(session.modified).to.equal(false);
      expect(session.accessed).to.equal(false);
      expect(loads()).to.equal(0);
    });

    it("calls the loader on first use, exactly once across every member", () => {
      const { session, loads } = loaded(record([["a", "1"]]));
      expect(session.get("a")).to.equal("1");
      expect(loads()).to.equal(1);
      session.has("a");
      session.fetch("b", "x");
      session.isEmpty();
      void session.size;
      [...session.keys()];
      [...session.values()];
      [...session.entries()];
      [...session];
      session.toJSON();
      session.set("b", "2");
      session.delete("b");
      session.expireIn(60);
      session.expireAtBrowserClose();
      session.cycleKey();
      session.clear();
      expect(loads()).to.equal(1);
    });

    for (const [name, use] of [
      ["get", (s: Session) => s.get("a")],
      ["set", (s: Session) => s.set("a", "2")],
      ["has", (s: Session) => s.has("a")],
      ["size", (s: Session) => s.size],
      ["keys", (s: Session) => s.keys()],
      ["toJSON", (s: Session) => s.toJSON()],
      ["iteration", (s: Session) => [...s]],
      ["cycleKey", (s: Session) => s.cycleKey()],
      ["expireIn", (s: Session) => s.expireIn(10)],
    ] as const) {
      it(`is accessed after ${name}`, () => {
        const { session, loads } = loaded(record([["a", "1"]]));
        use(session);
        expect(session.accessed).to.equal(true);
        expect(loads()).to.equal(1);
      });
    }
  });

  describe("get / set", () => {
    it("returns a stored string, or undefined for a missing key", () => {
      const { session } = loaded(record([["user", "ada"]]));
      expect(session.get("user")).to.equal("ada");
      expect(session.get("missing")).to.equal(undefined);
    });

    it("stores a string, returns the session, and marks it modified", () => {
      const session = fresh();
      expect(session.set("user", "ada")).to.equal(session);
      expect(session.get("user")).to.equal("ada");
      expect(session.modified).to.equal(true);
    });

    it("writes into the loaded record", () => {
      const { session, rec } = loaded();
      session.set("user", "ada");
      expect(rec.data.get("user")).to.equal("ada");
    });

    it("replaces a value", () => {
      const { session } = loaded(record([["user", "ada"]]));
      session.set("user", "grace");
      expect(session.get("user")).to.equal("grace");
      expect(session.modified).to.equal(true);
    });

    it("accepts the empty string as a value and as a key", () => {
      const session = fresh();
      session.set("", "");
      expect(session.has("")).to.equal(true);
      expect(session.get("")).to.equal("");
    });

    it("is not modified by setting the value a key already has", () => {
      const { session } = loaded(record([["user", "ada"]]));
      session.set("user", "ada");
      expect(session.modified).to.equal(false);
      expect(session.accessed).to.equal(true);
    });

    it("is not modified by reading", () => {
      const { session } = loaded(record([["user", "ada"]]));
      session.get("user");
      session.has("user");
      session.fetch("x", "y");
      session.toJSON();
      [...session];
      expect(session.modified).to.equal(false);
    });
  });

  describe("set with a value that is not a string", () => {
    const cases: [string, unknown, string][] = [
      ["BigInt", 10n, "bigint"],
      ["number", 42, "number"],
      ["object", { a: 1 }, "object"],
      ["array", ["a"], "array"],
      ["null", null, "null"],
      ["undefined", undefined, "undefined"],
      ["function", () => "x", "function"],
      ["symbol", Symbol("s"), "symbol"],
      ["boolean", true, "boolean"],
      ["String object", new String("x"), "object"],
    ];
    for (const [label, value, type] of cases) {
      it(`throws InvalidSessionValueError naming the key and the type for ${label}`, () => {
        const session = fresh();
        let error: unknown;
        try {
          setUnchecked(session, "answer", value);
        } catch (err) {
          error = err;
        }
        expect(error).to.be.instanceOf(InvalidSessionValueError);
        const e = error as InvalidSessionValueError;
        expect(e.code).to.equal("E_INVALID_SESSION_VALUE");
        expect(e.name).to.equal("InvalidSessionValueError");
        expect(e.message).to.include('"answer"');
        expect(e.message).to.include(type);
        expect(session.has("answer")).to.equal(false);
        expect(session.modified).to.equal(false);
      });
    }

    it("leaves the old value in place", () => {
      const { session } = loaded(record([["answer", "41"]]));
      expect(() => setUnchecked(session, "answer", 42)).to.throw(InvalidSessionValueError);
      expect(session.get("answer")).to.equal("41");
      expect(session.modified).to.equal(false);
    });
  });

  describe("keys", () => {
    for (const [label, key, type] of [
      ["number", 1, "number"],
      ["symbol", Symbol("k"), "symbol"],
      ["object", { k: 1 }, "object"],
      ["null", null, "null"],
      ["undefined", undefined, "undefined"],
    ] as const) {
      it(`refuses a ${label} key with InvalidSessionValueError`, () => {
        const session = fresh();
        expect(() => setUnchecked(session, key, "v"))
          .to.throw(InvalidSessionValueError, type)
          .with.property("code", "E_INVALID_SESSION_VALUE");
        expect(session.size).to.equal(0);
        expect(session.modified).to.equal(false);
      });
    }

    it('refuses the reserved key "__stoat"', () => {
      const session = fresh();
      expect(() => session.set("__stoat", "x"))
        .to.throw(InvalidSessionValueError, "__stoat")
        .with.property("code", "E_INVALID_SESSION_VALUE");
      expect(session.has("__stoat")).to.equal(false);
      expect(session.toJSON()).to.deep.equal({});
    });

    const special = ["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf", "__defineGetter__"];

    it("treats __proto__, constructor and friends as missing until set", () => {
      const session = fresh();
      for (const key of special) {
        expect(session.get(key), key).to.equal(undefined);
        expect(session.has(key), key).to.equal(false);
        expect(session.fetch(key, "fallback"), key).to.equal("fallback");
      }
      expect(session.size).to.equal(0);
      expect(session.isEmpty()).to.equal(true);
    });

    it("stores __proto__, constructor and friends as ordinary keys", () => {
      const session = fresh();
      for (const key of special) session.set(key, `value of ${key}`);
      for (const key of special) {
        expect(session.get(key), key).to.equal(`value of ${key}`);
        expect(session.has(key), key).to.equal(true);
      }
      expect(session.size).to.equal(special.length);
      expect([...session.keys()]).to.deep.equal(special);
    });

    it("pollutes neither Object.prototype nor the session object", () => {
      const before = Object.getOwnPropertyNames(Object.prototype).sort();
      const session = fresh();
      session.set("__proto__", "polluted");
      session.set("constructor", "polluted");
      session.set("hasOwnProperty", "polluted");
      session.set("toString", "polluted");
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).to.deep.equal(before);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      expect(Object.prototype.toString).to.be.a("function");
      expect({}.toString()).to.equal("[object Object]");
      expect(Object.getPrototypeOf(session)).to.equal(Session.prototype);
      expect(session.constructor).to.equal(Session);
      expect(Object.getOwnPropertyNames(session)).to.deep.equal([]);
      expect(session.toString()).to.equal("[object Object]");
      expect(Object.hasOwn(session, "polluted")).to.equal(false);
    });

    it("puts them in toJSON as own keys of a plain object", () => {
      const session = fresh();
      session.set("__proto__", "p");
      session.set("constructor", "c");
      session.set("hasOwnProperty", "h");
      session.set("toString", "t");
      const json = session.toJSON();
      expect(Object.getPrototypeOf(json)).to.equal(Object.prototype);
      expect(Object.keys(json)).to.deep.equal(["__proto__", "constructor", "hasOwnProperty", "toString"]);
      for (const key of ["__proto__", "constructor", "hasOwnProperty", "toString"]) {
        expect(Object.getOwnPropertyDescriptor(json, key)?.value, key).to.equal(
          key[0] === "_" ? "p" : key[0],
        );
      }
      expect(JSON.parse(JSON.stringify(session))).to.deep.equal(JSON.parse(JSON.stringify(json)));
      expect(JSON.stringify(session)).to.equal(
        '{"__proto__":"p","constructor":"c","hasOwnProperty":"h","toString":"t"}',
      );
    });

    it("reads __proto__ from a loaded record as a key", () => {
      const { session } = loaded(record([["__proto__", "from the store"]]));
      expect(session.get("__proto__")).to.equal("from the store");
      expect(Object.getOwnPropertyDescriptor(session.toJSON(), "__proto__")?.value).to.equal(
        "from the store",
      );
    });
  });

  describe("delete", () => {
    it("removes a key and returns its old value", () => {
      const { session } = loaded(record([["user", "ada"]]));
      expect(session.delete("user")).to.equal("ada");
      expect(session.has("user")).to.equal(false);
      expect(session.get("user")).to.equal(undefined);
      expect(session.modified).to.equal(true);
    });

    it("returns undefined for a missing key and leaves the session unmodified", () => {
      const { session } = loaded(record([["user", "ada"]]));
      expect(session.delete("missing")).to.equal(undefined);
      expect(session.modified).to.equal(false);
      expect(session.get("user")).to.equal("ada");
    });

    it("returns the empty string for a key holding the empty string, and removes it", () => {
      const { session } = loaded(record([["blank", ""]]));
      expect(session.delete("blank")).to.equal("");
      expect(session.has("blank")).to.equal(false);
      expect(session.modified).to.equal(true);
    });

    it("deletes __proto__ as an ordinary key", () => {
      const session = fresh();
      session.set("__proto__", "x");
      expect(session.delete("__proto__")).to.equal("x");
      expect(session.has("__proto__")).to.equal(false);
      expect(Object.getPrototypeOf(session)).to.equal(Session.prototype);
    });
  });

  describe("has / fetch", () => {
    it("has tells present keys from missing ones", () => {
      const { session } = loaded(record([["a", "1"]]));
      expect(session.has("a")).to.equal(true);
      expect(session.has("b")).to.equal(false);
    });

    it("fetch returns the value when there is one, ignoring the fallback", () => {
      const { session } = loaded(record([["a", "1"]]));
      let called = false;
      expect(session.fetch("a", "fallback")).to.equal("1");
      expect(
        session.fetch("a", () => {
          called = true;
          return "computed";
        }),
      ).to.equal("1");
      expect(called).to.equal(false);
    });

    it("fetch returns the fallback for a missing key", () => {
      const session = fresh();
      expect(session.fetch("missing", "fallback")).to.equal("fallback");
      expect(session.fetch("missing", 0)).to.equal(0);
      expect(session.fetch("missing", null)).to.equal(null);
    });

    it("fetch calls a fallback function with the key for a missing key", () => {
      const session = fresh();
      const seen: string[] = [];
      expect(
        session.fetch("missing", (key) => {
          seen.push(key);
          return `no ${key}`;
        }),
      ).to.equal("no missing");
      expect(seen).to.deep.equal(["missing"]);
    });

    it("fetch returns a stored empty string rather than the fallback", () => {
      const { session } = loaded(record([["blank", ""]]));
      expect(session.fetch("blank", "fallback")).to.equal("");
    });

    it("fetch does not store the fallback", () => {
      const session = fresh();
      session.fetch("missing", "fallback");
      expect(session.has("missing")).to.equal(false);
      expect(session.modified).to.equal(false);
    });
  });

  describe("isEmpty / size / keys / values / entries / iteration", () => {
    it("reports an empty session", () => {
      const session = fresh();
      expect(session.isEmpty()).to.equal(true);
      expect(session.size).to.equal(0);
      expect([...session.keys()]).to.deep.equal([]);
      expect([...session.values()]).to.deep.equal([]);
      expect([...session.entries()]).to.deep.equal([]);
      expect([...session]).to.deep.equal([]);
    });

    it("lists the user's keys in insertion order", () => {
      const { session } = loaded(record([["a", "1"]]));
      session.set("b", "2");
      session.set("c", "3");
      expect(session.isEmpty()).to.equal(false);
      expect(session.size).to.equal(3);
      expect([...session.keys()]).to.deep.equal(["a", "b", "c"]);
      expect([...session.values()]).to.deep.equal(["1", "2", "3"]);
      expect([...session.entries()]).to.deep.equal([
        ["a", "1"],
        ["b", "2"],
        ["c", "3"],
      ]);
      const seen: [string, string][] = [];
      for (const [key, value] of session) seen.push([key, value]);
      expect(seen).to.deep.equal([
        ["a", "1"],
        ["b", "2"],
        ["c", "3"],
      ]);
      expect(Object.fromEntries(session)).to.deep.equal({ a: "1", b: "2", c: "3" });
    });

    it("counts only the user's keys, not the flash", () => {
      const { session } = loaded(record([], [["notice", "hi"]]));
      expect(session.isEmpty()).to.equal(true);
      expect(session.size).to.equal(0);
      expect([...session]).to.deep.equal([]);
      expect(session.has("notice")).to.equal(false);
      expect(session.get("notice")).to.equal(undefined);
    });

    it("follows deletes", () => {
      const { session } = loaded(record([["a", "1"]]));
      session.delete("a");
      expect(session.isEmpty()).to.equal(true);
      expect(session.size).to.equal(0);
    });
  });

  describe("clear", () => {
    it("removes every key and marks the session modified", () => {
      const { session } = loaded(
        record([
          ["a", "1"],
          ["b", "2"],
        ]),
      );
      session.clear();
      expect(session.size).to.equal(0);
      expect(session.isEmpty()).to.equal(true);
      expect(session.get("a")).to.equal(undefined);
      expect(session.toJSON()).to.deep.equal({});
      expect(session.modified).to.equal(true);
    });

    it("leaves an already empty session unmodified", () => {
      const session = fresh();
      session.clear();
      expect(session.modified).to.equal(false);
    });

    it("allows setting keys again afterwards", () => {
      const { session } = loaded(record([["a", "1"]]));
      session.clear();
      session.set("b", "2");
      expect(session.toJSON()).to.deep.equal({ b: "2" });
    });
  });

  describe("toJSON", () => {
    it("is a plain object of the user's keys", () => {
      const { session } = loaded(
        record([
          ["a", "1"],
          ["b", "2"],
        ]),
      );
      const json = session.toJSON();
      expect(json).to.deep.equal({ a: "1", b: "2" });
      expect(Object.getPrototypeOf(json)).to.equal(Object.prototype);
    });

    it("leaves out the flash and Stoat's own data", () => {
      const rec = record([["a", "1"]], [["notice", "hi"]]);
      rec.maxAge = 60;
      rec.browserSession = true;
      const { session } = loaded(rec);
      expect(session.toJSON()).to.deep.equal({ a: "1" });
      expect(JSON.stringify(session)).to.equal('{"a":"1"}');
      expect(JSON.stringify(session)).not.to.include("hi");
      expect(JSON.stringify(session)).not.to.include("__stoat");
    });

    it("is a copy: changing it changes nothing in the session", () => {
      const { session } = loaded(record([["a", "1"]]));
      const json = session.toJSON();
      json.a = "changed";
      json.b = "added";
      expect(session.get("a")).to.equal("1");
      expect(session.has("b")).to.equal(false);
      expect(session.modified).to.equal(false);
    });

    it("is {} for an empty session", () => {
      expect(fresh().toJSON()).to.deep.equal({});
      expect(JSON.stringify(fresh())).to.equal("{}");
    });
  });

  describe("cycleKey", () => {
    it("keeps the data and marks the session modified", () => {
      const { session, loads } = loaded(record([["user", "ada"]]));
      session.cycleKey();
      expect(loads()).to.equal(1);
      expect(session.accessed).to.equal(true);
      expect(session.modified).to.equal(true);
      expect(session.toJSON()).to.deep.equal({ user: "ada" });
    });

    it("keeps writes made after it", () => {
      const { session } = loaded(record([["user", "ada"]]));
      session.cycleKey();
      session.set("role", "admin");
      expect(session.toJSON()).to.deep.equal({ user: "ada", role: "admin" });
    });
  });

  describe("flush", () => {
    it("drops every key and marks the session modified", () => {
      const { session } = loaded(record([["user", "ada"]], [["notice", "hi"]]));
      session.get("user");
      session.flush();
      expect(session.size).to.equal(0);
      expect(session.get("user")).to.equal(undefined);
      expect(session.toJSON()).to.deep.equal({});
      expect(session.modified).to.equal(true);
      expect(session.accessed).to.equal(true);
    });

    it("leaves a usable session for later writes", () => {
      const { session } = loaded(record([["user", "ada"]]));
      session.flush();
      session.set("theme", "dark");
      expect(session.toJSON()).to.deep.equal({ theme: "dark" });
    });

    it("does not resurrect the stored data when used before anything else", () => {
      const { session } = loaded(record([["user", "ada"]]));
      session.flush();
      expect(session.get("user")).to.equal(undefined);
      expect(session.size).to.equal(0);
    });
  });

  describe("id", () => {
    it("is undefined for the cookie store, before and after writes and cycleKey", () => {
      const session = fresh();
      expect(session.id).to.equal(undefined);
      session.set("a", "1");
      expect(session.id).to.equal(undefined);
      session.cycleKey();
      expect(session.id).to.equal(undefined);
    });
  });

  describe("expireIn / expireAtBrowserClose", () => {
    it("expireIn records the per-session lifetime and marks the session modified", () => {
      const { session, rec } = loaded();
      session.expireIn(3600);
      expect(rec.maxAge).to.equal(3600);
      expect(rec.browserSession).to.equal(false);
      expect(session.modified).to.equal(true);
      expect(session.accessed).to.equal(true);
    });

    for (const seconds of [1, 2 ** 31]) {
      it(`expireIn accepts ${seconds} second(s), the bounds`, () => {
        const { session, rec } = loaded();
        session.expireIn(seconds);
        expect(rec.maxAge).to.equal(seconds);
      });
    }

    for (const [label, value] of [
      ["0", 0],
      ["a negative number", -60],
      ["a non-integer", 1.5],
      ["a numeric string", "60"],
      ["NaN", Number.NaN],
      ["Infinity", Number.POSITIVE_INFINITY],
      ["2^31 + 1", 2 ** 31 + 1],
      ["1e300", 1e300],
      ["Number.MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER],
      ["null", null],
      ["undefined", undefined],
      ["a BigInt", 60n],
    ] as const) {
      it(`expireIn rejects ${label} and changes nothing`, () => {
        const { session, rec } = loaded();
        expect(() => (session.expireIn as (s: unknown) => void).call(session, value))
          .to.throw(InvalidSessionValueError, "expireIn")
          .with.property("code", "E_INVALID_SESSION_VALUE");
        expect(rec.maxAge).to.equal(undefined);
        expect(session.modified).to.equal(false);
      });
    }

    it("expireAtBrowserClose makes a browser-session cookie and marks the session modified", () => {
      const { session, rec } = loaded();
      session.expireAtBrowserClose();
      expect(rec.browserSession).to.equal(true);
      expect(rec.maxAge).to.equal(undefined);
      expect(session.modified).to.equal(true);
    });

    it("the last of expireIn and expireAtBrowserClose wins", () => {
      const { session, rec } = loaded();
      session.expireIn(60);
      session.expireAtBrowserClose();
      expect(rec.browserSession).to.equal(true);
      expect(rec.maxAge).to.equal(undefined);
      session.expireIn(120);
      expect(rec.browserSession).to.equal(false);
      expect(rec.maxAge).to.equal(120);
    });
  });

  describe("modified / accessed", () => {
    it("are false for a session never used", () => {
      const session = fresh();
      expect(session.modified).to.equal(false);
      expect(session.accessed).to.equal(false);
    });

    it("accessed turns true on a read, modified stays false", () => {
      const { session } = loaded(record([["a", "1"]]));
      session.get("a");
      expect(session.accessed).to.equal(true);
      expect(session.modified).to.equal(false);
    });

    it("are read-only", () => {
      const session = fresh();
      expect(() => {
        (session as unknown as { modified: boolean }).modified = true;
      }).to.throw(TypeError);
      expect(() => {
        (session as unknown as { accessed: boolean }).accessed = true;
      }).to.throw(TypeError);
      expect(session.modified).to.equal(false);
      expect(session.accessed).to.equal(false);
    });

    it("stays modified after a change is undone", () => {
      const { session } = loaded(record([["a", "1"]]));
      session.set("a", "2");
      session.set("a", "1");
      expect(session.modified).to.equal(true);
    });
  });

  describe("util.inspect", () => {
    it("prints no values of a loaded session", () => {
      const { session } = loaded(
        record(
          [
            ["password", "hunter2-secret"],
            ["token", "tok-abc123"],
          ],
          [["notice", "flash-secret"]],
        ),
      );
      session.get("password");
      for (const text of [
        inspect(session),
        inspect(session, { showHidden: true, depth: Number.POSITIVE_INFINITY }),
        inspect({ nested: { session } }),
        format("%o %O %s", session, session, session),
      ]) {
        expect(text).not.to.include("hunter2-secret");
        expect(text).not.to.include("tok-abc123");
        expect(text).not.to.include("flash-secret");
      }
    });

    it("does not load a session that was never used", () => {
      const { session, loads } = loaded(record([["password", "hunter2-secret"]]));
      const text = inspect(session);
      expect(text).not.to.include("hunter2-secret");
      expect(loads()).to.equal(0);
      expect(session.accessed).to.equal(false);
    });
  });
});
