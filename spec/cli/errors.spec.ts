import { execFile } from "node:child_process";
import { once } from "node:events";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { type CliResult, commandEnv, lines, repoRoot, runStoat } from "../support/cli.js";
import { HELLO_APP, makeProject, type TempProject } from "./temp_project.js";

// What the user can fix is one line on stderr (exit 1, or 2 for a wrong command line), never a stack.

const execFileP = promisify(execFile);

/** Asserts a one-line failure with exit `code` and returns the line. */
function oneLine(r: CliResult, code: number): string {
  expect(r.stdout).to.equal("");
  const err = lines(r.stderr);
  expect(err, r.stderr).to.have.length(1);
  expect(r.code).to.equal(code);
  return err[0]!;
}

/** Like runStoat, with another copy of the command. */
async function runBin(bin: string, args: string[], cwd: string): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [bin, ...args], { cwd, env: commandEnv() });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const THROWING_APP = `import { Application } from "stoat";

const settings: { port?: { value: number } } = {};
export const port = settings.port!.value;
export default Application.configure(() => {});
`;

describe("stoat: expected failures", function () {
  this.timeout(30000);

  const projects: TempProject[] = [];
  const project = (files: Record<string, string>, options?: { tsx?: boolean }) => {
    const p = makeProject(files, options);
    projects.push(p);
    return p;
  };
  after(() => {
    for (const p of projects) p.remove();
  });

  describe("the port", () => {
    let taken: Server;
    before(async () => {
      taken = createServer().listen(0, "127.0.0.1");
      await once(taken, "listening");
    });
    after(() => taken.close());

    it("already in use: names the port and how to pick another (exit 1)", async () => {
      const { port } = taken.address() as { port: number };
      const line = oneLine(await runStoat(["server", "--port", String(port)]), 1);
      expect(line).to.match(new RegExp(`^stoat server: 127\\.0\\.0\\.1 port ${port} is already in use`));
      expect(line).to.include("--port N");
      expect(line).to.include("PORT=N");
    });
  });

  it("a store adapter that is not installed: the ConfigError naming the package (exit 1)", async () => {
    // A copy of Stoat's build with its dependencies but not the optional @keyv/redis: a project that chose
    // the redis store and did not install its package.
    const p = project({
      "config/application.ts": `import { Application } from "stoat";
export default Application.configure((config) => {
  config.session.store = "redis";
  config.session.options = { secret: process.env.SECRET_KEY_BASE, url: "redis://127.0.0.1:1" };
});
`,
    });
    const copy = join(p.dir, "stoat-copy");
    for (const part of ["package.json", "dist", "bin"]) {
      cpSync(join(repoRoot, part), join(copy, part), { recursive: true });
    }
    const { dependencies } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const name of Object.keys(dependencies)) {
      const link = join(copy, "node_modules", name);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(repoRoot, "node_modules", name), link, "dir");
    }
    // The project's "stoat" is this copy, so the command and the app share one Application class.
    rmSync(join(p.dir, "node_modules", "stoat"));
    symlinkSync(copy, join(p.dir, "node_modules", "stoat"), "dir");

    const line = oneLine(await runBin(join(copy, "bin", "stoat.js"), ["server", "--port", "0"], p.dir), 1);
    expect(line).to.equal(
      'stoat server: session store "redis" needs the npm package @keyv/redis, which is not installed: npm install @keyv/redis',
    );
  });

  it("no config/application.ts: says to run inside a project or pass --app (exit 1)", async () => {
    const p = project({});
    const line = oneLine(await runStoat(["server"], { cwd: p.dir }), 1);
    expect(line).to.match(/^stoat server: no config\/application\.ts in .*--app FILE/);
  });

  it("--app naming a missing file says so (exit 1)", async () => {
    const p = project(HELLO_APP);
    const line = oneLine(await runStoat(["routes", "--app", "config/nope.ts"], { cwd: p.dir }), 1);
    expect(line).to.match(/^stoat routes: no application module config\/nope\.ts in /);
  });

  for (const [what, args, pattern] of [
    [
      "an unknown option",
      ["server", "--bogus"],
      /^stoat server: unknown option --bogus \(stoat server --help\)$/,
    ],
    ["a bad --port", ["server", "--port", "http"], /^stoat server: --port takes a port number .*http/],
    ["an option without its value", ["server", "--app"], /^stoat server: .*--app/],
    ["an option another command has", ["routes", "--port", "3000"], /^stoat routes: unknown option --port/],
    ["a stray argument", ["secret", "now"], /^stoat secret: .*"now"/],
  ] as const) {
    it(`${what}: a usage error (exit 2)`, async () => {
      expect(oneLine(await runStoat([...args]), 2)).to.match(pattern);
    });
  }

  it("a TypeScript app in a project without tsx: says to install it or use the build (exit 1)", async () => {
    const p = project(HELLO_APP, { tsx: false });
    const line = oneLine(await runStoat(["server", "--port", "0"], { cwd: p.dir }), 1);
    expect(line).to.include("npm install -D tsx");
    expect(line).to.include("--app dist/config/application.js");
  });

  it("a config module that throws while importing: its error and where, in one line (exit 1)", async () => {
    const p = project({ "config/application.ts": THROWING_APP });
    const line = oneLine(await runStoat(["server", "--port", "0"], { cwd: p.dir }), 1);
    expect(line).to.match(/^stoat server: could not load config\/application\.ts: TypeError: /);
    expect(line).to.match(/\(at config\/application\.ts:4:\d+\)$/);
  });

  it("a config module importing a package that is not installed: names it (exit 1)", async () => {
    const p = project({
      "config/application.ts": `import "left-pad-not-installed";\n${HELLO_APP["config/application.ts"]}`,
    });
    const line = oneLine(await runStoat(["routes"], { cwd: p.dir }), 1);
    expect(line).to.match(/^stoat routes: could not load config\/application\.ts: .*left-pad-not-installed/);
  });

  it("a config module with a syntax error: one line (exit 1)", async () => {
    const p = project({ "config/application.ts": "export default {\n" });
    const line = oneLine(await runStoat(["routes"], { cwd: p.dir }), 1);
    expect(line).to.match(/^stoat routes: could not load config\/application\.ts: /);
  });

  it("a ConfigError from Application.configure: its message (exit 1)", async () => {
    const p = project({
      "config/application.ts": `import { Application } from "stoat";
export default Application.configure((config) => {
  config.session.store = "carrier-pigeon";
});
`,
    });
    const line = oneLine(await runStoat(["routes"], { cwd: p.dir }), 1);
    expect(line).to.match(/^stoat routes: config\.session\.store "carrier-pigeon" is not a session store/);
  });
});
