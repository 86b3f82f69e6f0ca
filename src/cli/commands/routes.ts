import type { Out } from "../command.js";
import { APP_OPTION, DEFAULT_APP, loadApp } from "../load_app.js";
import { parseOptions } from "../options.js";

export const summary = "list the application's routes: method, path, Handler#action";

export const options = { app: APP_OPTION } as const;

export async function run(args: string[], out: Out): Promise<void> {
  const { values } = parseOptions(args, options);
  const app = await loadApp(process.cwd(), values.app ?? DEFAULT_APP);
  await app.close(); // only its route table is needed: no store connection may keep the process alive
  const rows = app.routes.map((r) => [r.method, r.path, `${r.handler}#${r.action}`] as const);
  const widths = [0, 1].map((i) => Math.max(i === 0 ? 6 : 4, ...rows.map((row) => row[i]!.length)));
  out(`${"Method".padEnd(widths[0]!)}  ${"Path".padEnd(widths[1]!)}  Handler#action`);
  for (const [method, path, action] of rows)
    out(`${method.padEnd(widths[0]!)}  ${path.padEnd(widths[1]!)}  ${action}`);
}
