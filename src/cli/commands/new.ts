import { spawn } from "node:child_process";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { CliError } from "../cli_error.js";
import { FRAMEWORK_ROOT, planProject, writeProject } from "../generator/generate.js";
import { packStoat } from "../generator/vendor.js";

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
    throw new CliError("usage: stoat new <dir> [--store NAME] [--skip-install] [--stoat SPEC]", 2);
  const plan = planProject(positionals[0]!, values.store, values.stoat);

  out(`Creating ${plan.name} (session store: ${plan.store}) in ${plan.dir}`);
  writeProject(plan, out);
  if (plan.vendorTarball) {
    const packed = await packStoat(FRAMEWORK_ROOT, plan.dir);
    if (packed !== plan.vendorTarball) {
      throw new CliError(
        `npm pack made vendor/${packed}, but package.json expects vendor/${plan.vendorTarball}`,
      );
    }
    out(`  create  vendor/${packed}`);
  }

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
