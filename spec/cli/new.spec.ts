import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { repoRoot as repo, runStoat } from "../support/cli.js";
import { freePort } from "../support/net.js";

// `stoat new` end to end: the real command generates projects, npm installs them (from the local cache
// where it can), and each project's own `npm test` and `npm start` must work. This is the slow spec
// (npm installs, and sqlite3's native build): it lives in this one file so its cost is easy to see.

const run = promisify(execFile);
/** The child's environment: no npm_config_* from the npm running these specs. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")),
);

function stoatNew(cwd: string, ...args: string[]) {
  return runStoat(["new", ...args], { cwd, env: cleanEnv, timeout: 280_000 });
}

/** `npm start` in `dir`, resolved once it listens; the caller kills it. */
async function start(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn("npm", ["start"], {
    cwd: dir,
    env: { ...cleanEnv, PORT: String(port) },
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    output += chunk;
  });
  for (let i = 0; i < 200 && !/listening on/.test(output); i++) {
    if (child.exitCode !== null) throw new Error(`npm start exited: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!/listening on/.test(output)) throw new Error(`npm start did not listen: ${output}`);
  return child;
}

/** Two requests sharing the cookie: the visit counter must go 1, 2. */
async function sessionRoundTrip(port: number): Promise<string[]> {
  const first = await fetch(`http://127.0.0.1:${port}/`);
  const cookie = first.headers.getSetCookie()[0]!.split(";")[0]!;
  const second = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie } });
  const visits = (html: string) => /id="visits">(\d+)</.exec(html)?.[1] ?? "none";
  return [visits(await first.text()), visits(await second.text())];
}

/** `npm start` in `dir` on a free port, two requests sharing the cookie, then stop: the visit counts. */
async function servedVisits(dir: string): Promise<string[]> {
  const port = await freePort();
  const server = await start(dir, port);
  try {
    return await sessionRoundTrip(port);
  } finally {
    process.kill(-server.pid!, "SIGTERM");
  }
}

describe("stoat new", function () {
  this.timeout(300_000);
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "stoat-new-"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  describe("refusals (exit 2, one line, nothing written)", () => {
    it("a non-empty directory", async () => {
      const dir = join(root, "taken");
      mkdirSync(dir);
      writeFileSync(join(dir, "notes.txt"), "mine");
      const result = await stoatNew(root, "taken", "--skip-install");
      expect(result.code).to.equal(2);
      expect(result.stderr.trim().split("\n")).to.have.length(1);
      expect(result.stderr).to.match(/not empty/);
      expect(readdirSync(dir)).to.deep.equal(["notes.txt"]);
      expect(readFileSync(join(dir, "notes.txt"), "utf8")).to.equal("mine");
    });

    it("an unknown store", async () => {
      const result = await stoatNew(root, "shop", "--store", "mongo", "--skip-install");
      expect(result.code).to.equal(2);
      expect(result.stderr).to.match(/unknown store "mongo" \(choose one of cookie, memory, redis/);
      expect(existsSync(join(root, "shop"))).to.equal(false);
    });

    it("a name npm would refuse, and a missing directory", async () => {
      const bad = await stoatNew(root, "My App", "--skip-install");
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/not a valid project name/);
      const missing = await stoatNew(root);
      expect(missing.code).to.equal(2);
    });
  });

  for (const store of ["cookie", "sqlite"]) {
    it(`a ${store} project installs, passes its own specs, and serves sessions`, async () => {
      const result = await stoatNew(root, `app-${store}`, "--store", store);
      expect(result.code, result.stderr).to.equal(0);
      const dir = join(root, `app-${store}`);
      for (const file of [
        "package.json",
        "tsconfig.json",
        "config/application.ts",
        "config/routes.ts",
        "src/handlers/home_handler.ts",
        "spec/home_handler.spec.ts",
        ".env",
        ".env.example",
        ".gitignore",
        "README.md",
      ]) {
        expect(result.stdout, file).to.include(`create  ${file}`);
        expect(existsSync(join(dir, file)), file).to.equal(true);
      }
      expect(result.stdout).to.include("Running npm install");
      expect(result.stdout).to.match(/Next:\n {2}cd app-\w+\n {2}npm start\n {2}npm test/);

      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      expect(pkg.dependencies.stoat).to.equal(`file:${repo}`);
      const adapters = Object.keys(pkg.dependencies).filter((d) => d.startsWith("@keyv/"));
      expect(adapters).to.deep.equal(store === "sqlite" ? ["@keyv/sqlite"] : []);
      expect(readFileSync(join(dir, ".env"), "utf8")).to.match(/^SECRET_KEY_BASE=[0-9a-f]{128}\n/);
      expect(readFileSync(join(dir, ".gitignore"), "utf8").split("\n")).to.include.members([
        ".env",
        "tmp/",
        "db/*.sqlite3",
        "node_modules/",
      ]);
      expect(readFileSync(join(dir, "config/application.ts"), "utf8")).to.include(
        `config.session.store = "${store}";`,
      );

      const tests = await run("npm", ["test"], { cwd: dir, env: cleanEnv });
      expect(tests.stdout).to.match(/3 passing/);

      expect(await servedVisits(dir)).to.deep.equal(["1", "2"]);
    });
  }

  it("a database project prints sessions:install as a next step, and it works", async () => {
    const result = await stoatNew(root, "app-database", "--store", "database");
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(
      /Next:\n {2}cd app-database\n {2}npx stoat sessions:install\n {2}npm start/,
    );
    const dir = join(root, "app-database");
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(Object.keys(pkg.dependencies).sort()).to.deep.equal(["sqlite3", "stoat", "tsx"]);
    const install = await run("npx", ["stoat", "sessions:install"], { cwd: dir, env: cleanEnv });
    expect(install.stdout).to.match(/created table sessions/i);
    expect(existsSync(join(dir, "db", "sessions.sqlite3"))).to.equal(true);
    const again = await run("npx", ["stoat", "sessions:install"], { cwd: dir, env: cleanEnv });
    expect(again.stdout).to.not.match(/created/i);
    const tests = await run("npm", ["test"], { cwd: dir, env: cleanEnv });
    expect(tests.stdout).to.match(/3 passing/);
    expect(await servedVisits(dir)).to.deep.equal(["1", "2"]);
  });

  it("--stoat overrides where the framework comes from; --skip-install installs nothing", async () => {
    const result = await stoatNew(root, "pinned", "--skip-install", "--stoat", "file:../stoat-checkout");
    expect(result.code, result.stderr).to.equal(0);
    const pkg = JSON.parse(readFileSync(join(root, "pinned", "package.json"), "utf8"));
    expect(pkg.dependencies.stoat).to.equal("file:../stoat-checkout");
    expect(existsSync(join(root, "pinned", "node_modules"))).to.equal(false);
    expect(result.stdout).to.match(/Next:\n {2}cd pinned\n {2}npm install\n {2}npm start/);
  });
});
