import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import type { Command } from "../../src/cli/command.js";
import * as newProject from "../../src/cli/commands/new.js";
import * as routes from "../../src/cli/commands/routes.js";
import * as secret from "../../src/cli/commands/secret.js";
import * as server from "../../src/cli/commands/server.js";
import * as sessionsExpire from "../../src/cli/commands/sessions/expire.js";
import * as sessionsInstall from "../../src/cli/commands/sessions/install.js";
import * as sessionsList from "../../src/cli/commands/sessions/list.js";
import * as sessionsRevoke from "../../src/cli/commands/sessions/revoke.js";
import { lines, repoRoot, runStoat } from "../support/cli.js";

// `stoat --version` and the help of every command, from the real command.

const COMMANDS: Record<string, Command> = {
  new: newProject,
  secret,
  server,
  routes,
  "sessions:install": sessionsInstall,
  "sessions:expire": sessionsExpire,
  "sessions:list": sessionsList,
  "sessions:revoke": sessionsRevoke,
};

describe("stoat --version and help", function () {
  this.timeout(20000);

  const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string })
    .version;

  for (const flag of ["--version", "-v"]) {
    it(`${flag} prints Stoat's version from its package.json`, async () => {
      const r = await runStoat([flag]);
      expect(r.code).to.equal(0);
      expect(r.stderr).to.equal("");
      expect(r.stdout).to.equal(`${version}\n`);
    });
  }

  it("help names every command and how to get a command's options", async () => {
    const r = await runStoat(["help"]);
    expect(r.code).to.equal(0);
    const names = lines(r.stdout).map((line) => line.trim().split(/\s+/)[0]);
    expect(names).to.include.members(Object.keys(COMMANDS));
    expect(r.stdout).to.include("stoat help <command>");
  });

  for (const [name, command] of Object.entries(COMMANDS)) {
    describe(name, () => {
      for (const args of [
        ["help", name],
        [name, "--help"],
        [name, "-h"],
      ]) {
        it(`\`stoat ${args.join(" ")}\` prints its usage with every option and exits 0`, async () => {
          const r = await runStoat(args);
          expect(r.stderr).to.equal("");
          expect(r.code).to.equal(0);
          const out = lines(r.stdout);
          expect(out[0]).to.match(new RegExp(`^Usage: stoat ${name}\\b`));
          expect(r.stdout).to.include(command.summary);
          // The options the command parses are the ones its help lists: one declaration.
          for (const [option, spec] of Object.entries(command.options ?? {})) {
            const line = out.find((l) => new RegExp(`^\\s+(-\\w, )?--${option}\\b`).test(l));
            expect(line, `--${option}`).to.be.a("string");
            expect(line).to.include(spec.description);
            if (spec.short) expect(line).to.include(`-${spec.short},`);
          }
          expect(out.some((l) => /-h, --help/.test(l))).to.equal(true);
        });
      }
    });
  }

  it("secret --help prints the usage, not a secret", async () => {
    const r = await runStoat(["secret", "--help"]);
    expect(r.stdout).not.to.match(/[0-9a-f]{128}/);
  });

  it("server's help lists --port, --host, --app and --watch", async () => {
    const r = await runStoat(["server", "--help"]);
    for (const option of ["--port N", "--host HOST", "--app FILE", "--watch"]) {
      expect(r.stdout).to.include(option);
    }
  });

  it("help for an unknown command exits 2", async () => {
    const r = await runStoat(["help", "frobnicate"]);
    expect(r.code).to.equal(2);
    expect(lines(r.stderr)[0]).to.equal('stoat help: unknown command "frobnicate"');
  });
});
