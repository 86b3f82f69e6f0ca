import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { requireBuild } from "../../src/cli/generator/vendor.js";

// `stoat new` packs the Stoat it runs from: it must be built, and in a checkout built from today's source.

describe("stoat new: the Stoat it packs", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "stoat-vendor-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const file = (path: string, secondsAgo: number) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), "");
    const when = Date.now() / 1000 - secondsAgo;
    utimesSync(join(root, path), when, when);
  };

  it("refuses a Stoat with no dist/, saying how to build it", () => {
    file("src/index.ts", 10);
    expect(() => requireBuild(root)).to.throw(/not built \(no dist\/\): run `npm run build`/);
  });

  it("refuses a checkout whose src/ changed after the build", () => {
    file("dist/index.js", 60);
    file("src/session/session.ts", 10);
    expect(() => requireBuild(root)).to.throw(/dist\/ .* is older than its src\/: run `npm run build`/);
  });

  it("takes a build newer than every source file, and an installed copy (no src/)", () => {
    file("dist/index.js", 10);
    file("src/session/session.ts", 60);
    expect(() => requireBuild(root)).to.not.throw();
    rmSync(join(root, "src"), { recursive: true });
    expect(() => requireBuild(root)).to.not.throw();
  });
});
