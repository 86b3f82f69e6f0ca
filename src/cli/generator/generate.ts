import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSecret } from "../../app/secrets.js";
import { CliError } from "../cli_error.js";
import { render } from "./render.js";
import { STORE_CHOICES } from "./store_choices.js";

/** The framework's own root: generated projects depend on it and reuse its pinned versions. */
export const FRAMEWORK_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const TEMPLATES = join(FRAMEWORK_ROOT, "templates", "app");

/** Tools a generated project's specs need, at the versions Stoat itself is tested with. */
const DEV_PACKAGES = [
  "mocha",
  "chai",
  "supertest",
  "typescript",
  "@types/mocha",
  "@types/chai",
  "@types/supertest",
  "@types/node",
];

export interface ProjectPlan {
  dir: string;
  name: string;
  store: string;
  /** Relative path -> contents, in the order they are written. */
  files: Map<string, string>;
  /** What to tell the user to run next. */
  nextSteps: string[];
}

/**
 * Everything `stoat new` will write, checked before anything is: the target must be new or empty, the
 * name a valid package name, the store one Stoat knows.
 */
export function planProject(target: string, store: string, stoatSpec: string | undefined): ProjectPlan {
  const choice = STORE_CHOICES[store];
  if (!Object.hasOwn(STORE_CHOICES, store) || !choice) {
    throw new CliError(
      `unknown store ${JSON.stringify(store)} (choose one of ${Object.keys(STORE_CHOICES).join(", ")})`,
      2,
    );
  }
  const dir = resolve(target);
  const name = basename(dir);
  if (!/^[a-z0-9][a-z0-9._-]{0,213}$/.test(name)) {
    throw new CliError(
      `${JSON.stringify(name)} is not a valid project name: use lowercase letters, digits, - _ .`,
      2,
    );
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new CliError(`${dir} is not empty; stoat new never writes over existing files`, 2);
  }

  const own = JSON.parse(readFileSync(join(FRAMEWORK_ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  // The version Stoat itself is tested with: its own pins, else what its install resolved (drivers that
  // come in under an adapter, such as sqlite3).
  const version = (pkg: string): string => {
    const pinned = own.devDependencies[pkg] ?? own.dependencies[pkg];
    if (pinned) return pinned;
    const installed = join(FRAMEWORK_ROOT, "node_modules", pkg, "package.json");
    return existsSync(installed)
      ? (JSON.parse(readFileSync(installed, "utf8")) as { version: string }).version
      : "*";
  };
  const pkg: Record<string, unknown> = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: { start: "stoat server", test: "tsc --noEmit && mocha 'spec/**/*.spec.ts'" },
    dependencies: Object.fromEntries([
      ["stoat", stoatSpec ?? `file:${FRAMEWORK_ROOT}`],
      ["tsx", version("tsx")],
      ...choice.packages.map((p) => [p, version(p)]),
    ]),
    devDependencies: Object.fromEntries(DEV_PACKAGES.map((p) => [p, version(p)])),
    engines: { node: ">=20.19" },
  };
  if (choice.nativeSqlite) pkg.allowScripts = { sqlite3: true };

  const secret = generateSecret();
  const values = {
    name,
    store,
    storeOptions: choice.options.map((line) => `    ${line}\n`).join(""),
    envExample: choice.env.join("\n"),
    storeNotes: choice.note ? `\n${choice.note}\n` : "",
    specSetup: choice.specSetup ? `\n  ${choice.specSetup}\n` : "",
  };
  const files = new Map<string, string>();
  files.set("package.json", `${JSON.stringify(pkg, null, 2)}\n`);
  for (const [template, path] of [
    ["tsconfig.json.tmpl", "tsconfig.json"],
    ["mocharc.json.tmpl", ".mocharc.json"],
    ["gitignore.tmpl", ".gitignore"],
    ["env.example.tmpl", ".env.example"],
    ["README.md.tmpl", "README.md"],
    ["config/application.ts.tmpl", "config/application.ts"],
    ["config/routes.ts.tmpl", "config/routes.ts"],
    ["src/handlers/home_handler.ts.tmpl", "src/handlers/home_handler.ts"],
    ["spec/home_handler.spec.ts.tmpl", "spec/home_handler.spec.ts"],
  ] as const) {
    files.set(path, render(readFileSync(join(TEMPLATES, template), "utf8"), values));
  }
  files.set(".env", [`SECRET_KEY_BASE=${secret}`, "PORT=3000", ...choice.env, ""].join("\n"));
  if (choice.nativeSqlite) {
    // sqlite3 ships no prebuilt binary this registry serves: build it against the system SQLite
    // (libsqlite3-dev); drop these lines to compile SQLite's own copy instead (slower).
    files.set(".npmrc", "sqlite=/usr\nbuild_from_source=sqlite3\n");
  }

  const rel = relative(process.cwd(), dir) || ".";
  const nextSteps = [`cd ${rel}`];
  if (store === "database") nextSteps.push("npx stoat sessions:install");
  nextSteps.push("npm start", "npm test");
  return { dir, name, store, files, nextSteps };
}

/** Writes the plan's files; `wx` refuses to replace anything that appeared meanwhile. */
export function writeProject(plan: ProjectPlan, out: (line: string) => void): void {
  for (const [path, contents] of plan.files) {
    const file = join(plan.dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, contents, { flag: "wx", mode: path === ".env" ? 0o600 : 0o644 });
    out(`  create  ${path}`);
  }
}
