import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot } from "../support/cli.js";

// A throwaway project for the CLI specs: its own package.json, `stoat` resolving to this checkout through
// node_modules (as an installed package would), tsx only when asked, and the files a spec writes.

export interface TempProject {
  dir: string;
  write(path: string, text: string): void;
  remove(): void;
}

/** The smallest config/application.ts: one route whose handler answers `text`, from src/handlers/. */
export const HELLO_APP = {
  "config/application.ts": `import { Application } from "stoat";
import { HelloHandler } from "../src/handlers/hello_handler.js";

export default Application.configure((config) => {
  config.routes = (r) => r.get("/", HelloHandler, "index");
  config.session.options = { secret: process.env.SECRET_KEY_BASE };
});
`,
  "src/handlers/hello_handler.ts": helloHandler("hello"),
};

export function helloHandler(text: string): string {
  return `import { Handler } from "stoat";

export class HelloHandler extends Handler {
  async index() {
    this.respond(${JSON.stringify(text)});
  }
}
`;
}

export function makeProject(files: Record<string, string>, options: { tsx?: boolean } = {}): TempProject {
  const dir = mkdtempSync(join(tmpdir(), "stoat-cli-project-"));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write("package.json", '{ "name": "cli-spec-project", "private": true, "type": "module" }\n');
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(repoRoot, join(dir, "node_modules", "stoat"), "dir");
  if (options.tsx !== false) {
    symlinkSync(join(repoRoot, "node_modules", "tsx"), join(dir, "node_modules", "tsx"), "dir");
  }
  for (const [path, text] of Object.entries(files)) write(path, text);
  return { dir, write, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
