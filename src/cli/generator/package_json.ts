import type { StoreChoice } from "./store_choices.js";
import { readManifest, testedVersion } from "./versions.js";

/** What the project's own specs and build need; none of it is loaded by `npm start`. */
const DEV_PACKAGES = [
  "tsx",
  "typescript",
  "mocha",
  "chai",
  "supertest",
  "@types/mocha",
  "@types/chai",
  "@types/supertest",
  "@types/node",
];

/**
 * The project's package.json: Stoat from `stoatSpec`, the store's packages and the dev tools at the exact
 * versions Stoat is tested with, read from Stoat's own package.json (present in an installed copy too).
 */
export function projectManifest(
  name: string,
  choice: StoreChoice,
  frameworkRoot: string,
  stoatSpec: string,
): Record<string, unknown> {
  const manifest = readManifest(frameworkRoot);
  const pinned = (packages: string[]) =>
    Object.fromEntries(packages.map((p) => [p, testedVersion(manifest, p)]));
  const pkg: Record<string, unknown> = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      dev: "stoat server --watch",
      build: "tsc -p tsconfig.build.json",
      // The build, with plain node: production needs no TypeScript loader.
      start: "stoat server --app dist/config/application.js",
      test: "tsc --noEmit && mocha",
    },
    dependencies: { stoat: stoatSpec, ...pinned(choice.packages) },
    devDependencies: pinned(DEV_PACKAGES),
    engines: { node: ">=20.19" },
  };
  // npm 11 runs a dependency's install script only when approved. sqlite3's fetches its prebuilt binary
  // (or compiles SQLite where it cannot); esbuild (under tsx) and msgpackr-extract find their prebuilt
  // platform packages without theirs, so those are declined rather than left to warn on every install.
  pkg.allowScripts = {
    esbuild: false,
    "msgpackr-extract": false,
    ...(choice.nativeSqlite ? { sqlite3: true } : {}),
  };
  return pkg;
}
