import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { commandEnv, repoRoot } from "../support/cli.js";

// Stoat as users get it: `npm pack`, then the tarball installed into fresh projects outside the checkout,
// each run with plain `node` (no tsx, no TypeScript at run time) or type-checked with `tsc`.

const execFileP = promisify(execFile);
const fixtures = join(repoRoot, "spec", "package", "fixtures");
const own = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** The newest TypeScript 5, beside the version Stoat builds with: users are on either. */
const TYPESCRIPT_5 = "5.9.3";

async function run(command: string, args: string[], cwd: string) {
  return execFileP(command, args, { cwd, env: commandEnv(), timeout: 240_000, maxBuffer: 16 << 20 });
}

/** A new project in a temporary directory holding `files` and depending on the tarball; installed. */
async function project(tarball: string, fixture: string, devDependencies: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), `stoat-${fixture}-`));
  cpSync(join(fixtures, fixture), dir, { recursive: true });
  const pkg = { name: fixture.replace("_", "-"), private: true, type: "module", devDependencies };
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ ...pkg, dependencies: { stoat: `file:${tarball}` } }),
  );
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], dir);
  return dir;
}

describe("the package (npm pack, installed into fresh projects)", function () {
  this.timeout(600_000);
  const made: string[] = [];
  let tarball: string;

  before(async () => {
    const out = mkdtempSync(join(tmpdir(), "stoat-pack-"));
    made.push(out);
    // A plain `npm pack`: its prepack script builds dist/ first, as it does for a publish.
    const { stdout } = await run("npm", ["pack", "--pack-destination", out, "--json"], repoRoot);
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(out, packed!.filename);
  });

  after(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it("ships the compiled code, its types, the command, the templates, the docs, README and LICENSE, and nothing else", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball], repoRoot);
    const files = stdout
      .split("\n")
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ""));
    const tops = [...new Set(files.map((f) => f.split("/")[0]))].sort();
    expect(tops).to.deep.equal(["LICENSE", "README.md", "bin", "dist", "docs", "package.json", "templates"]);
    expect(files).to.include.members([
      "dist/index.js",
      "dist/index.d.ts",
      "dist/cli/main.js",
      "bin/stoat.js",
    ]);
    expect(
      files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
      "no TypeScript source",
    ).to.deep.equal([]);
    expect(
      files.filter((f) => /^dist\/handlers\/(home|hello|posts)_handler/.test(f)),
      "no demo code",
    ).to.deep.equal([]);
  });

  it("needs no TypeScript loader at run time", () => {
    const runtime = Object.keys(own.dependencies);
    expect(runtime).to.not.include.members(["tsx", "ts-node", "typescript", "@swc-node/register"]);
  });

  describe("a JavaScript project", () => {
    let dir: string;
    before(async () => {
      dir = await project(tarball, "js_app");
      made.push(dir);
    });

    for (const [entry, how] of [
      ["app.mjs", "imports stoat as ESM"],
      ["app.cjs", 'require("stoat")s it (Node\'s require(esm))'],
    ] as const) {
      it(`${how}, serves requests and round-trips a session under plain node`, async () => {
        const { stdout } = await run(process.execPath, [entry], dir);
        const result = JSON.parse(stdout) as { first: { n: number }; second: { n: number }; cookie: string };
        expect(result.first).to.deep.equal({ n: 1 });
        expect(result.second, "the second request read the first one's session").to.deep.equal({ n: 2 });
        expect(result.cookie).to.match(/^_stoat_session=Fe26\.2\*/);
      });
    }
  });

  describe("a strict TypeScript project (skipLibCheck off, no @types of its own)", () => {
    let dir: string;
    before(async () => {
      dir = await project(tarball, "ts_app", {
        typescript: own.devDependencies.typescript!,
        typescript5: `npm:typescript@${TYPESCRIPT_5}`,
      });
      made.push(dir);
    });

    for (const [compiler, label] of [
      ["typescript", `TypeScript ${own.devDependencies.typescript} (what Stoat builds with)`],
      ["typescript5", `TypeScript ${TYPESCRIPT_5}`],
    ] as const) {
      it(`type-checks an app and its typed session data on ${label}`, async () => {
        const tsc = join(dir, "node_modules", compiler, "bin", "tsc");
        const { stdout } = await run(process.execPath, [tsc, "--version"], dir);
        expect(stdout).to.contain(compiler === "typescript5" ? TYPESCRIPT_5 : own.devDependencies.typescript);
        // Exit 0 means no error at all, and every @ts-expect-error in the app met the error it expects.
        await run(process.execPath, [tsc, "-p", "."], dir).catch((error: { stdout?: string }) => {
          throw new Error(`tsc failed:\n${error.stdout ?? String(error)}`);
        });
      });
    }

    it("reports a wrong session value against the declared type", async () => {
      const file = join(dir, "src", "account_handler.ts");
      const source = readFileSync(file, "utf8");
      writeFileSync(file, source.replaceAll("// @ts-expect-error", "//"));
      try {
        const tsc = join(dir, "node_modules", "typescript5", "bin", "tsc");
        const failed = await run(process.execPath, [tsc, "-p", "."], dir).then(
          () => "",
          (error: { stdout?: string }) => error.stdout ?? "",
        );
        expect(failed).to.match(/account_handler\.ts\(\d+,\d+\): error TS2322/); // sure: string = get(...)
        expect(failed).to.contain("'number' is not assignable to parameter of type 'string'");
        expect(failed).to.contain(`'"owner"' is not assignable to parameter of type '"admin" | "member"'`);
      } finally {
        writeFileSync(file, source);
      }
    });
  });
});
