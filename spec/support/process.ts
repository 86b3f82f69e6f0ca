// A spec's own server process: a script under tsx that prints `LISTENING <port>` once it listens, and
// stopping it by its pid (never by name: other runs share the machine).

import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** tsx as Stoat's checkout resolves it, so a child does not depend on the folder it starts in. */
const TSX = import.meta.resolve("tsx");

/** The parent's `--conditions` (stoat-source), so a child resolves `stoat` as the specs do: to src/. */
const conditions = () => process.execArgv.filter((arg) => arg.startsWith("--conditions="));

/** Kills a child by its pid (if still running) and waits, bounded, for it to go. */
export async function kill(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = "SIGKILL",
  ms = 5000,
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  await Promise.race([gone, sleep(ms, undefined, { ref: false })]);
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** http://127.0.0.1:<port> */
  base: string;
  /** Everything the child wrote so far (stdout and stderr, interleaved). */
  output: () => string;
}

/**
 * Starts `script` (absolute, or from the current folder) with `node --import tsx` in its own process and
 * waits (bounded by `ms`) for its `LISTENING <port>` line; a child that exits first or does not get there in
 * time is killed and the error carries the end of its output.
 */
export async function startServer(
  script: string,
  env: Record<string, string>,
  what: string,
  ms = 20_000,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...conditions(), "--import", TSX, resolve(script)], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    out += chunk;
  });
  const output = () => out;
  const listening = /LISTENING (\d+)/;
  const deadline = Date.now() + ms;
  try {
    while (!listening.test(out)) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}): ${out.slice(-500)}`);
      if (Date.now() > deadline) throw new Error(`${what} not ready after ${ms} ms: ${out.slice(-500)}`);
      await sleep(25);
    }
  } catch (error) {
    await kill(child);
    throw error;
  }
  const port = Number(listening.exec(out)![1]);
  return { child, port, base: `http://127.0.0.1:${port}`, output };
}
