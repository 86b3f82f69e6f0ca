import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import {
  Application,
  type Config,
  ConfigError,
  Handler,
  type MiddlewareEntry,
  type Routes,
  type SessionOptions,
  type SessionStore,
  UnknownStoreError,
} from "stoat";
import request from "supertest";
import { loadEnv } from "../../src/app/secrets.js";
import { cookieValue, OTHER_SECRET, SECRET, setCookieFor, THIRD_SECRET, testApp } from "../support/app.js";

// Boot-time configuration: every mistake fails in Application.configure with a
// ConfigError naming the option and what is allowed; secrets come from options, the environment, .env or a
// generated development file; the session cookie carries the configured attributes.

class CounterHandler extends Handler {
  /** Reads and increments `count`: proves whether an incoming cookie was read. */
  async count() {
    const count = Number(this.session.get("count") ?? "0") + 1;
    this.session.set("count", String(count));
    this.json({ count });
  }

  async untouched() {
    this.respond("no session here");
  }

  async noStore() {
    this.ctx.set("Cache-Control", "no-store");
    this.session.set("a", "1");
    this.respond("ok");
  }

  async privateCache() {
    this.ctx.set("Cache-Control", "private, max-age=60");
    this.session.set("a", "1");
    this.respond("ok");
  }

  async publicCache() {
    this.ctx.set("Cache-Control", "public, max-age=3600");
    this.session.set("a", "1");
    this.respond("ok");
  }
}

const routes = (r: Routes) => {
  r.get("/count", CounterHandler, "count");
  r.get("/app/count", CounterHandler, "count");
  r.get("/untouched", CounterHandler, "untouched");
  r.get("/no-store", CounterHandler, "noStore");
  r.get("/private", CounterHandler, "privateCache");
  r.get("/public", CounterHandler, "publicCache");
};

/** Runs `fn`, expecting it to throw; returns the error. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  expect.fail("expected Application.configure to throw");
}

/** A ConfigError (code E_CONFIG, not a subclass) thrown by building an app with these session options. */
function optionError(options: Record<string, unknown>): ConfigError {
  const err = thrown(() => testApp({ routes, options: options as SessionOptions }));
  expect(err).to.be.instanceOf(ConfigError);
  expect(err.constructor).to.equal(ConfigError);
  expect((err as ConfigError).code).to.equal("E_CONFIG");
  return err as ConfigError;
}

function middlewareError(middleware: unknown[]): ConfigError {
  const err = thrown(() => testApp({ routes, middleware: middleware as MiddlewareEntry[] }));
  expect(err).to.be.instanceOf(ConfigError);
  expect((err as ConfigError).code).to.equal("E_CONFIG");
  return err as ConfigError;
}

/** The count an app answers for GET /count with `cookie` (undefined: no cookie), and the cookie it sets. */
async function count(
  app: Application,
  cookie?: string,
  name = "_stoat_session",
): Promise<{ count: number; cookie: string | undefined }> {
  let req = request(app.callback()).get("/count");
  if (cookie !== undefined) req = req.set("Cookie", `${name}=${cookie}`);
  const res = await req.expect(200);
  return { count: (res.body as { count: number }).count, cookie: cookieValue(res, name) };
}

const ENV_KEYS = ["SECRET_KEY_BASE", "SECRET_KEY_BASE_OLD", "NODE_ENV"] as const;

/** Saves and restores the environment variables the secrets specs change, and makes temp roots. */
function isolateEnv(): { tempRoot(): string } {
  let saved: Record<string, string | undefined> = {};
  const dirs: string[] = [];
  beforeEach(() => {
    saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
    for (const k of ENV_KEYS) delete process.env[k];
  });
  afterEach(() => {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    tempRoot() {
      const dir = mkdtempSync(join(tmpdir(), "stoat-config-spec-"));
      dirs.push(dir);
      return dir;
    },
  };
}

/** An app configured the way config/application.ts is, with `root` and without a secret option. */
function appAt(root: string, configure: (config: Config) => void = () => {}): Application {
  return Application.configure((config) => {
    config.routes = routes;
    config.root = root;
    config.session.options = { secret: process.env.SECRET_KEY_BASE };
    configure(config);
  });
}

/** Replaces console.warn while `fn` runs; returns what was warned. */
function captureWarnings(fn: () => void): string[] {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(" "));
  };
  try {
    fn();
  } finally {
    console.warn = original;
  }
  return warnings;
}

describe("Application.configure", () => {
  it("accepts the spec helper's baseline config", async () => {
    const app = testApp({ routes });
    expect((await count(app)).count).to.equal(1);
  });

  describe("unknown and misspelt session options", () => {
    it("rejects an unknown option, naming it and listing the allowed ones", () => {
      const err = optionError({ colour: "blue" });
      expect(err.message).to.include("config.session.options.colour");
      expect(err.message).to.match(/allowed:.*\bexpireAfter\b/);
      expect(err.message).to.match(/allowed:.*\bsecret\b/);
    });

    it('suggests expireAfter for expire_after ("did you mean expireAfter?")', () => {
      const err = optionError({ expire_after: 3600 });
      expect(err.message).to.include("expire_after");
      expect(err.message).to.include("did you mean expireAfter?");
    });

    it('suggests oldSecret for old_secret ("did you mean oldSecret?")', () => {
      const err = optionError({ old_secret: OTHER_SECRET });
      expect(err.message).to.include("old_secret");
      expect(err.message).to.include("did you mean oldSecret?");
    });

    it("suggests expireAfter for the typo expireAftr", () => {
      const err = optionError({ expireAftr: 3600 });
      expect(err.message).to.include("expireAftr");
      expect(err.message).to.include("did you mean expireAfter?");
    });
  });

  describe("ill-typed session options", () => {
    for (const value of ["1 day", -5, 1.5]) {
      it(`rejects expireAfter ${JSON.stringify(value)}: a whole number of seconds`, () => {
        const err = optionError({ expireAfter: value });
        expect(err.message).to.include("config.session.options.expireAfter");
        expect(err.message).to.match(/whole number of seconds/);
      });
    }

    it('rejects httpOnly "yes": true or false', () => {
      const err = optionError({ httpOnly: "yes" });
      expect(err.message).to.include("config.session.options.httpOnly");
      expect(err.message).to.include("true or false");
    });

    it('rejects sameSite "sometimes", listing lax, strict and none', () => {
      const err = optionError({ sameSite: "sometimes" });
      expect(err.message).to.include("config.session.options.sameSite");
      for (const allowed of ["lax", "strict", "none"]) expect(err.message).to.include(allowed);
    });

    it('rejects secure "maybe", listing auto, true and false', () => {
      const err = optionError({ secure: "maybe" });
      expect(err.message).to.include("config.session.options.secure");
      for (const allowed of ["auto", "true", "false"]) expect(err.message).to.include(allowed);
    });

    for (const key of ["my session", "a;b"]) {
      it(`rejects the cookie name ${JSON.stringify(key)}`, () => {
        const err = optionError({ key });
        expect(err.message).to.include("config.session.options.key");
        expect(err.message).to.include("cookie name");
      });
    }

    it('rejects a path without a leading "/"', () => {
      const err = optionError({ path: "app" });
      expect(err.message).to.include("config.session.options.path");
      expect(err.message).to.include('starting with "/"');
    });

    it("rejects a domain with a space", () => {
      const err = optionError({ domain: "exa mple.com" });
      expect(err.message).to.include("config.session.options.domain");
      expect(err.message).to.include("domain name");
    });
  });

  describe("secret options", () => {
    it("rejects a secret shorter than 32 characters, without echoing it", () => {
      const err = optionError({ secret: "short-secret-123" });
      expect(err.message).to.match(/\bsecret\b/);
      expect(err.message).to.include("32");
      expect(err.message).not.to.include("short-secret-123");
    });

    it("rejects a short oldSecret", () => {
      const err = optionError({ oldSecret: "old-but-short" });
      expect(err.message).to.include("oldSecret");
      expect(err.message).to.include("32");
      expect(err.message).not.to.include("old-but-short");
    });

    it("rejects an oldSecret list holding one short secret", () => {
      const err = optionError({ oldSecret: [OTHER_SECRET, "old-but-short"] });
      expect(err.message).to.include("oldSecret");
      expect(err.message).to.include("32");
    });

    it("rejects an oldSecret that is not a string or a list of strings", () => {
      const err = optionError({ oldSecret: 42 });
      expect(err.message).to.include("oldSecret");
    });
  });

  describe("option combinations", () => {
    it('rejects sameSite "none" with secure false', () => {
      const err = optionError({ sameSite: "none", secure: false });
      expect(err.message).to.include("sameSite");
      expect(err.message).to.include("none");
      expect(err.message).to.include("secure");
    });

    it("rejects a __Host- cookie name with a domain", () => {
      const err = optionError({ key: "__Host-sid", domain: "example.com" });
      expect(err.message).to.include("__Host-");
      expect(err.message).to.include("domain");
    });

    it('rejects a __Host- cookie name with a path other than "/"', () => {
      const err = optionError({ key: "__Host-sid", path: "/app" });
      expect(err.message).to.include("__Host-");
      expect(err.message).to.include("path");
    });

    it("rejects a __Host- cookie name with secure false", () => {
      const err = optionError({ key: "__Host-sid", secure: false });
      expect(err.message).to.include("__Host-");
      expect(err.message).to.include("secure");
    });

    it("rejects touchAfter equal to or above expireAfter", () => {
      for (const touchAfter of [60, 120]) {
        const err = optionError({ expireAfter: 60, touchAfter });
        expect(err.message).to.include("touchAfter");
        expect(err.message).to.include("expireAfter");
      }
    });
  });

  describe("stores", () => {
    it("rejects an unknown store name with UnknownStoreError listing the known ones", () => {
      const err = thrown(() => testApp({ routes, store: "nosuchstore" }));
      expect(err).to.be.instanceOf(UnknownStoreError);
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as UnknownStoreError).code).to.equal("E_UNKNOWN_STORE");
      expect(err.message).to.include('"nosuchstore"');
      expect(err.message).to.include("cookie");
    });

    it("rejects a store object that lacks the store methods", () => {
      const store = { name: "half", load: () => undefined } as unknown as SessionStore;
      const err = thrown(() => testApp({ routes, store }));
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as ConfigError).code).to.equal("E_CONFIG");
      expect(err.message).to.include("config.session.store");
      for (const method of ["save", "touch", "destroy"]) expect(err.message).to.include(method);
    });
  });

  describe("config.middleware", () => {
    it("rejects an unknown name, listing the built-in ones", () => {
      const err = middlewareError(["session", "cors"]);
      expect(err.message).to.include('"cors"');
      for (const name of ["bodyParser", "session", "csrf", "flash"]) expect(err.message).to.include(name);
    });

    it('rejects "flash" before "session"', () => {
      const err = middlewareError(["flash", "session"]);
      expect(err.message).to.include('"flash"');
      expect(err.message).to.include("after");
    });

    it('rejects "flash" without "session"', () => {
      const err = middlewareError(["bodyParser", "flash"]);
      expect(err.message).to.include('"flash"');
      expect(err.message).to.include('"session"');
    });

    it("rejects a name listed twice", () => {
      const err = middlewareError(["session", "flash", "session"]);
      expect(err.message).to.include('"session"');
      expect(err.message).to.include("twice");
    });
  });

  it("rejects an unknown top-level key (config.rotues), suggesting routes", () => {
    const err = thrown(() =>
      Application.configure((config) => {
        (config as unknown as Record<string, unknown>).rotues = routes;
        config.session.options = { secret: SECRET };
      }),
    );
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).code).to.equal("E_CONFIG");
    expect(err.message).to.include("config.rotues");
    expect(err.message).to.include("did you mean routes?");
  });
});

describe("secrets and .env", () => {
  const env = isolateEnv();

  it("refuses to boot with NODE_ENV=production and no secret, saying how to make one", () => {
    process.env.NODE_ENV = "production";
    const root = env.tempRoot();
    const err = thrown(() => appAt(root));
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).code).to.equal("E_CONFIG");
    expect(err.message).to.include("stoat secret");
    expect(err.message).to.include("SECRET_KEY_BASE");
    expect(existsSync(join(root, "tmp"))).to.equal(false);
  });

  for (const [label, weak] of [
    ["32 spaces", " ".repeat(32)],
    ["tabs and newlines", "\t\n ".repeat(12)],
    ["one letter 32 times", "a".repeat(32)],
    ['"changeme" four times', "changeme".repeat(4)],
    ["seven distinct characters", "abcdefg".repeat(5)],
  ] as const) {
    it(`refuses to boot in production with a secret of ${label}, saying how to make one and never echoing it`, () => {
      process.env.NODE_ENV = "production";
      process.env.SECRET_KEY_BASE = weak;
      const err = thrown(() => appAt(env.tempRoot()));
      expect(err).to.be.instanceOf(ConfigError);
      expect(err.message).to.include("SECRET_KEY_BASE").and.include("npx stoat secret");
      if (weak.trim() !== "") expect(err.message).not.to.include(weak);
    });

    // A blank entry of the old-secret list is no secret at all: skipped, as "a,,b" is, never used to open.
    if (weak.trim() === "") continue;
    it(`refuses an old secret of ${label} in production too`, () => {
      process.env.NODE_ENV = "production";
      process.env.SECRET_KEY_BASE = SECRET;
      process.env.SECRET_KEY_BASE_OLD = `${OTHER_SECRET},${weak}`;
      const err = thrown(() => appAt(env.tempRoot()));
      expect(err).to.be.instanceOf(ConfigError);
      expect(err.message).to.include("SECRET_KEY_BASE_OLD");
    });
  }

  it("boots in production with eight distinct characters, and in development with a weak secret", () => {
    process.env.NODE_ENV = "production";
    process.env.SECRET_KEY_BASE = "abcdefgh".repeat(4);
    expect(appAt(env.tempRoot())).to.be.instanceOf(Application);
    process.env.NODE_ENV = "development";
    process.env.SECRET_KEY_BASE = "a".repeat(32);
    expect(appAt(env.tempRoot())).to.be.instanceOf(Application);
  });

  it('refuses to boot with config.env "production" and no secret', () => {
    const root = env.tempRoot();
    const err = thrown(() =>
      appAt(root, (config) => {
        config.env = "production";
      }),
    );
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.message).to.include("stoat secret");
    expect(existsSync(join(root, "tmp", "development_secret.txt"))).to.equal(false);
  });

  it("generates a development secret once into tmp/development_secret.txt and reuses it", async () => {
    const root = env.tempRoot();
    const file = join(root, "tmp", "development_secret.txt");
    let first: Application | undefined;
    const warnings = captureWarnings(() => {
      first = appAt(root);
    });
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.include(file);
    const stored = readFileSync(file, "utf8");
    expect(stored).to.match(/^[0-9a-f]{128}\n$/);
    expect(statSync(file).mode & 0o777).to.equal(0o600);

    const written = await count(first!);
    expect(written.cookie).to.be.a("string").and.not.equal("");

    let second: Application | undefined;
    expect(captureWarnings(() => (second = appAt(root)))).to.deep.equal([]);
    expect(readFileSync(file, "utf8")).to.equal(stored);
    expect((await count(second!, written.cookie)).count).to.equal(2);

    // Another project gets its own secret: the first project's cookie means nothing there.
    let other: Application | undefined;
    captureWarnings(() => (other = appAt(env.tempRoot())));
    expect((await count(other!, written.cookie)).count).to.equal(1);
  });

  it("uses SECRET_KEY_BASE from the environment when no secret option is given", async () => {
    process.env.SECRET_KEY_BASE = OTHER_SECRET;
    const root = env.tempRoot();
    const written = await count(appAt(root));
    expect(existsSync(join(root, "tmp"))).to.equal(false);

    const sameSecret = testApp({ routes, options: { secret: OTHER_SECRET } });
    expect((await count(sameSecret, written.cookie)).count).to.equal(2);
    const otherSecret = testApp({ routes, options: { secret: SECRET } });
    expect((await count(otherSecret, written.cookie)).count).to.equal(1);
  });

  it("reads cookies sealed with a secret listed in SECRET_KEY_BASE_OLD (comma-separated)", async () => {
    const old = await count(testApp({ routes, options: { secret: OTHER_SECRET } }));
    const root = env.tempRoot();
    process.env.SECRET_KEY_BASE = SECRET;

    const withoutOld = appAt(root);
    expect((await count(withoutOld, old.cookie)).count).to.equal(1);

    process.env.SECRET_KEY_BASE_OLD = `${THIRD_SECRET}, ${OTHER_SECRET}`;
    const rotated = appAt(root);
    const reread = await count(rotated, old.cookie);
    expect(reread.count).to.equal(2);
    // What it writes back is sealed with the current secret alone.
    expect((await count(withoutOld, reread.cookie)).count).to.equal(3);
  });

  it("loadEnv puts the values of <root>/.env into process.env; the real environment wins", () => {
    const root = env.tempRoot();
    writeFileSync(join(root, ".env"), "STOAT_SPEC_FROM_FILE=from-file\nSTOAT_SPEC_REAL=from-file\n");
    process.env.STOAT_SPEC_REAL = "real";
    try {
      loadEnv(root);
      expect(process.env.STOAT_SPEC_FROM_FILE).to.equal("from-file");
      expect(process.env.STOAT_SPEC_REAL).to.equal("real");
    } finally {
      delete process.env.STOAT_SPEC_FROM_FILE;
      delete process.env.STOAT_SPEC_REAL;
    }
  });

  it("loadEnv does nothing when there is no .env", () => {
    const root = env.tempRoot();
    mkdirSync(join(root, "config"));
    expect(() => loadEnv(root)).not.to.throw();
  });

  it("Application.configure takes SECRET_KEY_BASE from .env in the project directory", async () => {
    const root = env.tempRoot();
    writeFileSync(join(root, ".env"), `SECRET_KEY_BASE=${THIRD_SECRET}\n`);
    const cwd = process.cwd();
    let app: Application;
    try {
      process.chdir(root);
      app = Application.configure((config) => {
        config.routes = routes;
        config.session.options = { secret: process.env.SECRET_KEY_BASE };
      });
    } finally {
      process.chdir(cwd);
    }
    expect(process.env.SECRET_KEY_BASE).to.equal(THIRD_SECRET);
    expect(existsSync(join(root, "tmp"))).to.equal(false);
    const written = await count(app);
    const reader = testApp({ routes, options: { secret: THIRD_SECRET } });
    expect((await count(reader, written.cookie)).count).to.equal(2);
  });
});

describe("session cookie attributes (over HTTP)", () => {
  /** The attributes of the session cookie a GET /count response sets, lower-cased names. */
  async function attributes(
    app: Application,
    headers: Record<string, string> = {},
    name = "_stoat_session",
    path = "/count",
  ): Promise<Map<string, string>> {
    let req = request(app.callback()).get(path);
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    const res = await req.expect(200);
    const line = setCookieFor(res, name);
    expect(line, "a Set-Cookie for the session").to.be.a("string");
    const attrs = new Map<string, string>();
    for (const part of line!.split(";").slice(1)) {
      const [k, ...v] = part.trim().split("=");
      attrs.set(k!.toLowerCase(), v.join("="));
    }
    return attrs;
  }

  it("defaults to HttpOnly, SameSite=Lax, Path=/, an expiry and no Secure or Domain on plain HTTP", async () => {
    const attrs = await attributes(testApp({ routes }));
    expect(attrs.get("httponly")).to.equal("");
    expect(attrs.get("samesite")).to.equal("Lax");
    expect(attrs.get("path")).to.equal("/");
    expect(attrs.has("expires")).to.equal(true);
    expect(attrs.has("secure")).to.equal(false);
    expect(attrs.has("domain")).to.equal(false);
  });

  it('secure "auto" sets Secure when config.env is "production"', async () => {
    const attrs = await attributes(testApp({ routes, env: "production" }));
    expect(attrs.has("secure")).to.equal(true);
  });

  it('secure "auto" sets Secure behind a trusted proxy saying X-Forwarded-Proto: https', async () => {
    const app = testApp({ routes, proxy: true });
    expect((await attributes(app, { "X-Forwarded-Proto": "https" })).has("secure")).to.equal(true);
    expect((await attributes(app)).has("secure")).to.equal(false);
  });

  it("ignores X-Forwarded-Proto when config.proxy is false", async () => {
    const attrs = await attributes(testApp({ routes }), { "X-Forwarded-Proto": "https" });
    expect(attrs.has("secure")).to.equal(false);
  });

  it("secure true forces Secure on plain HTTP; secure false leaves it off in production", async () => {
    expect((await attributes(testApp({ routes, options: { secure: true } }))).has("secure")).to.equal(true);
    const off = testApp({ routes, env: "production", options: { secure: false } });
    expect((await attributes(off)).has("secure")).to.equal(false);
  });

  it("writes the domain and path options", async () => {
    const app = testApp({ routes, options: { domain: "example.com", path: "/app" } });
    const attrs = await attributes(app, {}, "_stoat_session", "/app/count");
    expect(attrs.get("domain")).to.equal("example.com");
    expect(attrs.get("path")).to.equal("/app");
  });

  it('writes SameSite=Strict for sameSite "strict", and no HttpOnly for httpOnly false', async () => {
    const app = testApp({ routes, options: { sameSite: "strict", httpOnly: false } });
    const attrs = await attributes(app);
    expect(attrs.get("samesite")).to.equal("Strict");
    expect(attrs.has("httponly")).to.equal(false);
  });

  it("uses the key option as the cookie name", async () => {
    const app = testApp({ routes, options: { key: "_blog_session" } });
    const res = await request(app.callback()).get("/count").expect(200);
    expect(setCookieFor(res)).to.equal(undefined);
    expect(setCookieFor(res, "_blog_session")).to.be.a("string");
  });

  it("accepts a __Host- key with defaults: Secure, Path=/ and no Domain even over HTTP", async () => {
    const attrs = await attributes(testApp({ routes, options: { key: "__Host-sid" } }), {}, "__Host-sid");
    expect(attrs.has("secure")).to.equal(true);
    expect(attrs.get("path")).to.equal("/");
    expect(attrs.has("domain")).to.equal(false);
  });

  it("a __Secure- key forces Secure", async () => {
    const attrs = await attributes(testApp({ routes, options: { key: "__Secure-sid" } }), {}, "__Secure-sid");
    expect(attrs.has("secure")).to.equal(true);
  });

  describe("Cache-Control", () => {
    it('is "private, no-store" on a response that sets the session cookie', async () => {
      const res = await request(testApp({ routes }).callback()).get("/count").expect(200);
      expect(setCookieFor(res)).to.be.a("string");
      expect(res.headers["cache-control"]).to.equal("private, no-store");
    });

    it("is left alone when the response already said no-store or private", async () => {
      const app = testApp({ routes });
      const noStore = await request(app.callback()).get("/no-store").expect(200);
      expect(setCookieFor(noStore)).to.be.a("string");
      expect(noStore.headers["cache-control"]).to.equal("no-store");
      const priv = await request(app.callback()).get("/private").expect(200);
      expect(setCookieFor(priv)).to.be.a("string");
      expect(priv.headers["cache-control"]).to.equal("private, max-age=60");
    });

    it("replaces a public Cache-Control when the session cookie is set", async () => {
      const res = await request(testApp({ routes }).callback()).get("/public").expect(200);
      expect(setCookieFor(res)).to.be.a("string");
      expect(res.headers["cache-control"]).to.equal("private, no-store");
    });

    it("is not added to a response that does not touch the session", async () => {
      const res = await request(testApp({ routes }).callback()).get("/untouched").expect(200);
      expect(res.headers["set-cookie"]).to.equal(undefined);
      expect(res.headers["cache-control"]).to.equal(undefined);
    });
  });
});
