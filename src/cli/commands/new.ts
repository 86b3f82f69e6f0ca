import { spawn } from "node:child_process";
import { once } from "node:events";
import { CliError } from "../cli_error.js";
import type { Out } from "../command.js";
import { FRAMEWORK_ROOT, planProject, writeProject } from "../generator/generate.js";
import { STORE_CHOICES } from "../generator/store_choices.js";
import { packStoat } from "../generator/vendor.js";
import { parseOptions } from "../options.js";

export const summary = "generate a project in a new directory";

export const synopsis = "<dir>";

export const details = [
  "Stoat goes into the project as vendor/stoat-<version>.tgz (npm pack of this Stoat, which must be built),",
  "so the project can move and installs nothing from this checkout but that file.",
];

export const options = {
  store: {
    type: "string",
    value: "NAME",
    description: `the session store (default cookie; ${Object.keys(STORE_CHOICES).join(", ")})`,
  },
  "skip-install": { type: "boolean", description: "write the files and vendor/, but run no npm install" },
  stoat: {
    type: "string",
    value: "SPEC",
    description: "the package.json spec of stoat instead of the vendored tarball (a version, file:, git URL)",
  },
} as const;

export async function run(args: string[], out: Out): Promise<void> {
  const { values, positionals } = parseOptions(args, options, { min: 1, max: 1 });
  const plan = planProject(positionals[0]!, values.store ?? "cookie", values.stoat);

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
