import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Application } from "../app/application.js";
import { CliError } from "./cli_error.js";

/** Imports `config/application.ts` of the project in `root` and returns its Application. */
export async function loadApp(root: string): Promise<Application> {
  const file = join(root, "config", "application.ts");
  if (!existsSync(file)) {
    throw new CliError(`no config/application.ts in ${root}: run this inside a Stoat project`);
  }
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const app = module.default;
  if (!(app instanceof Application)) {
    throw new CliError("config/application.ts must `export default Application.configure(...)`");
  }
  await app.ready();
  return app;
}
