import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../support/net.js";

// Driving a project made by `stoat new` as its user would: npm scripts in a child process, a server
// started and asked for two pages. Used by new.spec.ts.

const execFileP = promisify(execFile);

/** What a generated project reads from its environment (and .env): the spec's own values must not leak in. */
const PROJECT_SETTINGS = [
  "NODE_ENV",
  "PORT",
  "HOST",
  "SECRET_KEY_BASE",
  "SECRET_KEY_BASE_OLD",
  "REDIS_URL",
  "MEMCACHE_SERVER",
  "DATABASE_URL",
  "TEST_DATABASE_URL",
];

/**
 * The environment for a project's commands: none of the npm_* settings of the npm running these specs
 * (they would leak its prefix and scripts), but the same npm cache, so every install shares one.
 */
export function projectEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.toLowerCase().startsWith("npm_") || k.toLowerCase() === "npm_config_cache",
    ),
  );
  // The project's own .env and its defaults decide, as they would for its user.
  for (const key of PROJECT_SETTINGS) delete env[key];
  return { ...env, ...extra };
}

/** `npm ...args` in `dir`; rejects with npm's output when it fails. */
export async function npm(dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout, stderr } = await execFileP("npm", args, { cwd: dir, env, maxBuffer: 64 << 20 });
    return stdout + stderr;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(" ")} failed in ${dir}:\n${e.stdout ?? ""}${e.stderr ?? e.message}`);
  }
}

/** `npx ...args` in `dir` (a command from the README). */
export async function npx(dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return npm(dir, ["exec", "--", ...args], env);
}

/** The commands of the README's "Set up" block, in order, without their comments. */
export function readmeSetup(dir: string): string[][] {
  const readme = readFileSync(join(dir, "README.md"), "utf8");
  const block = /## Set up\s+```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error("README.md has no Set up block");
  return block
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "")
    .map((line) => line.split(/\s+/));
}

/** `npm run <script>` in `dir` on a free port, resolved once it listens; `stop` ends its process group. */
export async function serve(
  dir: string,
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ port: number; stop: () => void; output: () => string }> {
  const port = await freePort();
  const child: ChildProcess = spawn("npm", ["run", script], {
    cwd: dir,
    env: { ...env, PORT: String(port) },
    detached: true, // its own process group: npm, stoat and a watcher's child all stop together
  });
  let output = "";
  child.stdout!.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    output += chunk;
  });
  const stop = () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // already gone
    }
  };
  for (let i = 0; i < 300 && !/listening on/.test(output); i++) {
    if (child.exitCode !== null) throw new Error(`npm run ${script} exited: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!/listening on/.test(output)) {
    stop();
    throw new Error(`npm run ${script} did not listen: ${output}`);
  }
  return { port, stop, output: () => output };
}

/** Two requests sharing the cookie: the visit counter must go 1, 2. */
export async function visits(port: number): Promise<string[]> {
  const first = await fetch(`http://127.0.0.1:${port}/`);
  const cookie = first.headers.getSetCookie()[0]?.split(";")[0];
  if (!cookie) throw new Error(`no session cookie (status ${first.status}): ${await first.text()}`);
  const second = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie } });
  const count = (html: string) => /id="visits">(\d+)</.exec(html)?.[1] ?? "none";
  return [count(await first.text()), count(await second.text())];
}

/** `npm run <script>`'s server, two requests, then stop: the visit counts. */
export async function servedVisits(dir: string, script: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const server = await serve(dir, script, env);
  try {
    return await visits(server.port);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nserver output:\n${server.output()}`);
  } finally {
    server.stop();
  }
}

/** Runs at most `n` tasks at a time, the rest in the order they came. */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    while (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
