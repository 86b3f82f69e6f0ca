import { loadApp } from "../load_app.js";

export const summary = "list the routes of config/routes.ts";

export async function run(_args: string[], out: (line: string) => void): Promise<void> {
  const app = await loadApp(process.cwd());
  const rows = app.routes.map((r) => [r.method, r.path, `${r.handler}#${r.action}`] as const);
  const widths = [0, 1].map((i) => Math.max(i === 0 ? 6 : 4, ...rows.map((row) => row[i]!.length)));
  out(`${"Method".padEnd(widths[0]!)}  ${"Path".padEnd(widths[1]!)}  Handler#action`);
  for (const [method, path, action] of rows)
    out(`${method.padEnd(widths[0]!)}  ${path.padEnd(widths[1]!)}  ${action}`);
}
