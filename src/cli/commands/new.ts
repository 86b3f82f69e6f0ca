import { spawn } from "node:child_process";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { CliError } from "../cli_error.js";
import { planProject, writeProject } from "../generator/generate.js";

export const summary = "generate a project: new <dir> [--store NAME] [--skip-install] [--stoat SPEC]";

export async function run(args: string[], out: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      store: { type: "string", default: "cookie" },
      "skip-install": { type: "boolean", default: false },
      stoat: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1)
    throw new CliError("usage: stoat new <dir> [--store NAME] [--skip-install]", 2);
  const plan = planProject(positionals[0]!, values.store, values.stoat);

  out(`Creating ${plan.name} (session store: ${plan.store}) in ${plan.dir}`);
  writeProject(plan, out);

  if (values["skip-install"]) {
    out("Skipped npm install (--skip-install).");
    plan.nextSteps.splice(1, 0, "npm install");
  } else {
    out("Running npm install ...");
    const npm = spawn("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], {
      cwd: plan.dir,
      stdio: "inherit",
    });
    const [code] = (await once(npm, "exit")) as [number | null];
    if (code !== 0) {
      throw new CliError(
        `npm install failed (exit ${code}); fix the problem above, then run it in ${plan.dir}`,
      );
    }
  }
  out("");
  out("Done. Next:");
  for (const step of plan.nextSteps) out(`  ${step}`);
}
