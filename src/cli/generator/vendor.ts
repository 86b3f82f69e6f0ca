import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CliError } from "../cli_error.js";

const run = promisify(execFile);

/**
 * Refuses before anything is written: a tarball without dist/ would install a Stoat that cannot load, and
 * in a checkout a dist/ older than its src/ would give the project yesterday's Stoat.
 */
export function requireBuild(frameworkRoot: string): void {
  const built = join(frameworkRoot, "dist", "index.js");
  if (!existsSync(built)) {
    throw new CliError(
      `Stoat in ${frameworkRoot} is not built (no dist/): run \`npm run build\` there, or pass --stoat SPEC`,
    );
  }
  const source = join(frameworkRoot, "src");
  if (existsSync(source) && newestChange(source) > statSync(built).mtimeMs) {
    throw new CliError(
      `Stoat's dist/ in ${frameworkRoot} is older than its src/: run \`npm run build\` there, or pass --stoat SPEC`,
    );
  }
}

/** The latest modification time of any file under `dir` (an installed copy has no src/ to look at). */
function newestChange(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Packs Stoat into `<project>/vendor` and returns the tarball's name. `--ignore-scripts` because the build
 * already exists and an installed copy has nothing to build with; the tarball makes the project portable
 * and installs only Stoat's runtime dependencies (a linked checkout would bring its devDependencies).
 */
export async function packStoat(frameworkRoot: string, projectDir: string): Promise<string> {
  const destination = join(projectDir, "vendor");
  mkdirSync(destination, { recursive: true });
  let stdout: string;
  try {
    ({ stdout } = await run(
      "npm",
      ["pack", frameworkRoot, "--ignore-scripts", "--json", "--pack-destination", destination],
      { cwd: projectDir, maxBuffer: 16 * 1024 * 1024 },
    ));
  } catch (err) {
    const detail = ((err as { stderr?: string }).stderr ?? String(err)).trim().split("\n").at(-1);
    throw new CliError(`npm pack ${frameworkRoot} failed: ${detail}`);
  }
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  if (!packed) throw new CliError(`npm pack ${frameworkRoot} reported no tarball`);
  // npm names a scoped package's tarball "scope-name-1.0.0.tgz"; the file is in `destination` either way.
  return packed.filename;
}
