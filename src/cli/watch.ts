import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** What `stoat server --watch` watches, relative to the project. */
export const WATCHED_DIRS = ["config", "src"] as const;

/**
 * Runs `stoat server` (the same arguments but --watch) under Node's own watch mode, which restarts it when
 * a file under the watched directories changes and waits for the old server to exit first, so the port
 * is free again. Resolves with the watcher's exit code once it stops (SIGINT or SIGTERM, passed on).
 */
export async function watchServer(root: string, args: string[]): Promise<void> {
  const paths = WATCHED_DIRS.map((dir) => join(root, dir)).filter((path) => existsSync(path));
  const serverArgs = args.filter((arg) => arg !== "--watch" && arg !== "-w");
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      ...paths.map((path) => `--watch-path=${path}`),
      "--watch-preserve-output", // keep the request log and errors of the previous run on screen
      process.argv[1]!,
      "server",
      ...serverArgs,
    ],
    { stdio: "inherit" },
  );
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const signals = ["SIGINT", "SIGTERM"] as const;
  const handlers = signals.map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const code = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
  for (const [signal, handler] of handlers) process.off(signal, handler);
  process.exitCode = code;
}
