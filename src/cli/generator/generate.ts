import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSecret } from "../../app/secrets.js";
import { CliError } from "../cli_error.js";
import { projectManifest } from "./package_json.js";
import { render } from "./render.js";
import { STORE_CHOICES } from "./store_choices.js";
import { requireBuild } from "./vendor.js";
import { readManifest } from "./versions.js";

/** The framework's own root (a checkout, or an installed copy): it is packed into each project. */
export const FRAMEWORK_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const TEMPLATES = join(FRAMEWORK_ROOT, "templates", "app");

/** Template -> path in the project. */
const TEMPLATE_FILES = [
  ["tsconfig.json.tmpl", "tsconfig.json"],
  ["tsconfig.build.json.tmpl", "tsconfig.build.json"],
  ["mocharc.json.tmpl", ".mocharc.json"],
  ["gitignore.tmpl", ".gitignore"],
  ["env.example.tmpl", ".env.example"],
  ["README.md.tmpl", "README.md"],
  ["config/application.ts.tmpl", "config/application.ts"],
  ["config/routes.ts.tmpl", "config/routes.ts"],
  ["src/handlers/home_handler.ts.tmpl", "src/handlers/home_handler.ts"],
  ["spec/setup.ts.tmpl", "spec/setup.ts"],
  ["spec/home_handler.spec.ts.tmpl", "spec/home_handler.spec.ts"],
] as const;

export interface ProjectPlan {
  dir: string;
  name: string;
  store: string;
  /** Relative path -> contents, in the order they are written. */
  files: Map<string, string>;
  /** The tarball `npm pack` must leave in vendor/, unless `--stoat` named another Stoat. */
  vendorTarball: string | undefined;
  /** What to tell the user to run next. */
  nextSteps: string[];
}

/**
 * Everything `stoat new` will write, checked before anything is: the target must be new or empty, the
 * name a valid package name, the store one Stoat knows, and Stoat built unless `--stoat` says otherwise.
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
  if (stoatSpec === undefined) requireBuild(FRAMEWORK_ROOT);
  // A relative file: spec, so the project can move; npm names the tarball "<name>-<version>.tgz".
  const vendorTarball =
    stoatSpec === undefined ? `stoat-${readManifest(FRAMEWORK_ROOT).version}.tgz` : undefined;
  const pkg = projectManifest(name, choice, FRAMEWORK_ROOT, stoatSpec ?? `file:vendor/${vendorTarball}`);

  const local = (line: string) =>
    render(line, {
      // The key namespace rule allows 64 characters; the environment and a colon follow the prefix.
      prefix: name.slice(0, 48),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the generated code's template literal
      env: "${config.env}",
    });
  const setup = choice.setup ?? [];
  const values = {
    name,
    store,
    storeOptions: choice.options.map((line) => `    ${local(line)}\n`).join(""),
    envExample: choice.envExample.map((line) => `${local(line)}\n`).join(""),
    storeNote: local(choice.note),
    setup: commands(setup),
    deploy: commands(choice.deploy ?? []),
    specSetup: choice.specSetup ? `\n  ${choice.specSetup}\n` : "",
  };
  const files = new Map<string, string>();
  files.set("package.json", `${JSON.stringify(pkg, null, 2)}\n`);
  for (const [template, path] of TEMPLATE_FILES) {
    files.set(path, render(readFileSync(join(TEMPLATES, template), "utf8"), values));
  }
  files.set(".env", [`SECRET_KEY_BASE=${generateSecret()}`, "PORT=3000", ...choice.env, ""].join("\n"));

  const rel = relative(process.cwd(), dir) || ".";
  const nextSteps = [`cd ${rel}`, ...setup.map((s) => s.command), "npm run dev", "npm test"];
  return { dir, name, store, files, vendorTarball, nextSteps };
}

/** README lines: each command, then its comment lined up with the template's. */
function commands(list: { command: string; why: string }[]): string {
  return list.map((s) => `${s.command.padEnd(28)} # ${s.why}\n`).join("");
}

/** Writes the plan's files; `wx` refuses to replace anything that appeared meanwhile. */
export function writeProject(plan: ProjectPlan, out: (line: string) => void): void {
  for (const [path, contents] of plan.files) {
    const file = join(plan.dir, path);
    mkdirSync(dirname(file), { recursive: true });
    // .env holds the secret: readable by its owner only.
    writeFileSync(file, contents, { flag: "wx", mode: path === ".env" ? 0o600 : 0o644 });
    out(`  create  ${path}`);
  }
}
