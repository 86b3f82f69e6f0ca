import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { CliError } from "../../src/cli/cli_error.js";
import { STORE_CHOICES } from "../../src/cli/generator/store_choices.js";
import { requireBuild } from "../../src/cli/generator/vendor.js";
import { DRIVER_VERSIONS, testedVersion } from "../../src/cli/generator/versions.js";
import { repoRoot as repo, runStoat } from "../support/cli.js";
import { checkService, type ServiceName, serviceUrl, useService } from "../support/services.js";
import { limiter, npm, npx, projectEnv, readmeSetup, servedVisits } from "./new_project.js";

// `stoat new` end to end: the real command generates a project for every store, the project is moved
// elsewhere (nothing may point back at this checkout), installed from its vendored tarball, and its own
// `npm test`, `npm run build`, `npm run dev` and `npm start` (the build, with plain node) must work. This
// is the slow spec (an npm install per store, sqlite3's native build twice): its cost stays in this file.

function stoatNew(cwd: string, ...args: string[]) {
  return runStoat(["new", ...args], { cwd, env: projectEnv(), timeout: 280_000 });
}

/** The stores that need a server, and the variable the generated project reads its address from. */
const SERVICES: Readonly<Record<string, { service: ServiceName; env: string }>> = {
  redis: { service: "redis", env: "REDIS_URL" },
  memcache: { service: "memcache", env: "MEMCACHE_SERVER" },
  postgres: { service: "postgres", env: "DATABASE_URL" },
  mysql: { service: "mysql", env: "DATABASE_URL" },
};

const DEV_PACKAGES = [
  "@types/chai",
  "@types/mocha",
  "@types/node",
  "@types/supertest",
  "chai",
  "mocha",
  "supertest",
  "tsx",
  "typescript",
];

describe("stoat new", function () {
  this.timeout(300_000);
  let root: string;
  before(() => {
    if (!existsSync(join(repo, "dist", "index.js"))) throw new Error("run `npm run build` first");
    root = mkdtempSync(join(tmpdir(), "stoat-new-"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  describe("refusals (one line, nothing written)", () => {
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

    it("a Stoat with no build to pack, telling to run npm run build", () => {
      const unbuilt = mkdtempSync(join(root, "unbuilt-"));
      expect(() => requireBuild(unbuilt))
        .to.throw(CliError)
        .with.property("message")
        .that.matches(/no dist\/\): run `npm run build` there, or pass --stoat SPEC$/);
      expect(() => requireBuild(repo)).to.not.throw();
    });
  });

  describe("versions", () => {
    it("pins the drivers Stoat's package.json does not at the versions its lockfile tests", () => {
      const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8")) as {
        packages: Record<string, { version: string }>;
      };
      for (const [pkg, version] of Object.entries(DRIVER_VERSIONS)) {
        expect(lock.packages[`node_modules/${pkg}`]?.version, pkg).to.equal(version);
      }
    });

    it("knows an exact version of every package a project can get, and refuses to guess one", () => {
      const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
      const packages = [...DEV_PACKAGES, ...Object.values(STORE_CHOICES).flatMap((c) => c.packages)];
      for (const pkg of packages) expect(testedVersion(manifest, pkg), pkg).to.match(/^\d+\.\d+\.\d+$/);
      expect(() => testedVersion(manifest, "left-pad")).to.throw(/no exact version of left-pad/);
    });
  });

  it("--stoat overrides where the framework comes from; --skip-install installs nothing", async () => {
    const result = await stoatNew(root, "pinned", "--skip-install", "--stoat", "file:../stoat-checkout");
    expect(result.code, result.stderr).to.equal(0);
    const dir = join(root, "pinned");
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(pkg.dependencies.stoat).to.equal("file:../stoat-checkout");
    expect(existsSync(join(dir, "vendor"))).to.equal(false);
    expect(existsSync(join(dir, "node_modules"))).to.equal(false);
    expect(result.stdout).to.match(/Next:\n {2}cd pinned\n {2}npm install\n {2}npm run dev\n {2}npm test/);
  });

  describe("a project for every store: moved, installed, tested, built and served", () => {
    // Installs take most of the time: every reachable store's project is made and installed at once (a
    // few at a time, one npm cache), and each store's specs wait only for their own.
    const projects = new Map<string, Promise<Project>>();
    before(async () => {
      const slot = limiter(3);
      for (const store of Object.keys(STORE_CHOICES)) {
        const needs = SERVICES[store];
        if (needs && (await checkService(needs.service)).action !== "run") continue; // useService says why
        const project = slot(() => makeProject(store, root));
        project.catch(() => {}); // reported by that store's own before hook, not as an unhandled rejection
        projects.set(store, project);
      }
    });
    for (const store of Object.keys(STORE_CHOICES)) {
      describe(store, () => storeProject(store, () => projects.get(store)));
    }
  });
});

interface Project {
  dir: string;
  env: NodeJS.ProcessEnv;
  generated: Awaited<ReturnType<typeof stoatNew>>;
}

/**
 * Generates the store's project with the real CLI, moves it to another directory and follows its
 * README's set-up there (npm install from the vendored tarball; sessions:install for the database store).
 */
async function makeProject(store: string, root: string): Promise<Project> {
  const needs = SERVICES[store];
  const name = `app-${store}`;
  const env = projectEnv(needs ? { [needs.env]: serviceUrl(needs.service) } : {});
  const made = join(root, "made");
  mkdirSync(made, { recursive: true });
  // The cookie project is installed by `stoat new` itself, then moved with its node_modules; the others
  // are moved first and installed where they land.
  const install = store === "cookie" ? [] : ["--skip-install"];
  const generated = await stoatNew(made, name, "--store", store, ...install);
  if (generated.code !== 0) throw new Error(`stoat new failed: ${generated.stderr}`);
  const dir = join(root, "moved", name);
  mkdirSync(join(root, "moved"), { recursive: true });
  renameSync(join(made, name), dir);
  for (const command of readmeSetup(dir)) {
    if (command.join(" ") === "npm install") {
      await npm(dir, ["install", "--prefer-offline", "--no-audit", "--no-fund"], env);
    } else if (command[0] === "npx") {
      await npx(dir, command.slice(1), env);
    } else {
      throw new Error(`README set-up step the spec does not know: ${command.join(" ")}`);
    }
  }
  return { dir, env, generated };
}

/** The specs for one store's project, once `project()` (started by the outer `before`) is ready. */
function storeProject(store: string, project: () => Promise<Project> | undefined) {
  const needs = SERVICES[store];
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let generated: Project["generated"];
  let root: string;

  before(async function () {
    if (needs) await useService(this, needs.service);
    const made = project();
    if (!made) throw new Error(`no ${store} project was started`);
    ({ dir, env, generated } = await made);
    root = join(dir, "..", "..");
  });

  it("is self-contained: vendored Stoat, exact pins, its store's packages, a private .env", () => {
    expect(generated.stdout).to.include("create  vendor/stoat-");
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const tarball = readdirSync(join(dir, "vendor"));
    expect(tarball).to.have.length(1);
    expect(pkg.dependencies.stoat).to.equal(`file:vendor/${tarball[0]}`);
    const { stoat: _, ...deps } = pkg.dependencies as Record<string, string>;
    expect(Object.keys(deps).sort()).to.deep.equal([...STORE_CHOICES[store]!.packages].sort());
    expect(Object.keys(pkg.devDependencies).sort()).to.deep.equal(DEV_PACKAGES);
    for (const version of [...Object.values(deps), ...Object.values(pkg.devDependencies)]) {
      expect(version).to.match(/^\d+\.\d+\.\d+$/);
    }
    expect(pkg.scripts).to.deep.equal({
      dev: "stoat server --watch",
      build: "tsc -p tsconfig.build.json",
      start: "stoat server --app dist/config/application.js",
      test: "tsc --noEmit && mocha",
    });
    const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")) as {
      packages: Record<string, unknown>;
    };
    for (const tool of ["@biomejs/biome", "autocannon", "express", "fast-check", "playwright-core"]) {
      expect(lock.packages, `Stoat's devDependency ${tool}`).to.not.have.property(`node_modules/${tool}`);
    }
    for (const file of ["package.json", "package-lock.json"]) {
      expect(readFileSync(join(dir, file), "utf8"), file)
        .to.not.include(repo)
        .and.not.include(root);
    }
    expect(statSync(join(dir, ".env")).mode & 0o777).to.equal(0o600);
    expect(readFileSync(join(dir, ".env"), "utf8")).to.match(/^SECRET_KEY_BASE=[0-9a-f]{128}\n/);
    expect(readFileSync(join(dir, ".gitignore"), "utf8").split("\n")).to.include.members([
      ".env",
      "dist/",
      "node_modules/",
    ]);
    const config = readFileSync(join(dir, "config/application.ts"), "utf8");
    expect(config).to.include(`config.session.store = "${store}";`);
    // A store on a server keeps each environment's keys under their own prefix.
    if (needs) expect(config).to.include(`namespace: \`app-${store}:\${config.env}\``);
  });

  if (store === "cookie") {
    it("makes another project with its installed Stoat (packed again from node_modules/stoat)", async () => {
      const made = await npx(
        dir,
        ["stoat", "new", "../from-installed", "--store", "sqlite", "--skip-install"],
        env,
      );
      expect(made).to.include("create  vendor/stoat-");
      const pkg = JSON.parse(readFileSync(join(root, "moved", "from-installed", "package.json"), "utf8"));
      expect(pkg.dependencies).to.deep.equal({
        stoat: `file:vendor/${readdirSync(join(dir, "vendor"))[0]}`,
        "@keyv/sqlite": testedVersion(
          JSON.parse(readFileSync(join(repo, "package.json"), "utf8")),
          "@keyv/sqlite",
        ),
      });
      expect(Object.keys(pkg.devDependencies).sort()).to.deep.equal(DEV_PACKAGES);
    });
  }

  it("passes its own npm test, in the test environment's store", async () => {
    const development = join(dir, "db", "development.sqlite3");
    const before = existsSync(development) ? statSync(development).mtimeMs : undefined;
    expect(await npm(dir, ["test"], env)).to.match(/4 passing/);
    if (store === "sqlite" || store === "database") {
      expect(existsSync(join(dir, "db", "test.sqlite3"))).to.equal(true);
      expect(existsSync(development) ? statSync(development).mtimeMs : undefined).to.equal(before);
    }
  });

  it("serves sessions in development with npm run dev", async () => {
    expect(await servedVisits(dir, "dev", env)).to.deep.equal(["1", "2"]);
  });

  it("builds, and npm start serves the build with plain node (no tsx installed)", async () => {
    await npm(dir, ["run", "build"], env);
    expect(existsSync(join(dir, "dist", "config", "application.js"))).to.equal(true);
    // The build must not need the TypeScript loader: take it away, as `npm install --omit=dev` would.
    renameSync(join(dir, "node_modules", "tsx"), join(dir, "node_modules", ".tsx-hidden"));
    expect(await servedVisits(dir, "start", env)).to.deep.equal(["1", "2"]);
  });
}
