import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SECRET } from "./app.js";

// Running the real `stoat` command in a child process, as a user would.

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const bin = join(repoRoot, "bin", "stoat.js");
const execFileP = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment for a child: a known secret, development, and nothing from the npm running the specs. */
export function commandEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")),
  );
  env.SECRET_KEY_BASE = SECRET;
  env.NODE_ENV = "development";
  delete env.SECRET_KEY_BASE_OLD;
  delete env.PORT;
  return env;
}

/** Runs `stoat ...args`; reports the exit code and output, never throws for a non-zero exit. */
export async function runStoat(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [bin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? commandEnv(),
      timeout: options.timeout ?? 50_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** The non-empty lines of a command's output. */
export function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.length > 0);
}
