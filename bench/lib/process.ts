// Child processes of the bench and fault runs: a server script under tsx that prints `LISTENING <port>`,
// bounded waits for its output, and stopping it by its pid (never by name: other runs share the machine).

import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** tsx as this package resolves it, so a child does not depend on the folder it starts in. */
const TSX = import.meta.resolve("tsx");

/**
 * The parent's `--conditions` (the specs' stoat-source), so a child resolves `stoat` as its parent does:
 * the bench's own runs have none and get Stoat's built package.
 */
const conditions = () => process.execArgv.filter((arg) => arg.startsWith("--conditions="));

/** Waits (bounded) until `output()` matches `ready`; throws with the output if the child exits or time runs out. */
export async function waitFor(
  child: ChildProcess,
  output: () => string,
  ready: RegExp,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready.test(output())) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}): ${output().slice(-500)}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${ms} ms: ${output().slice(-500)}`);
    await sleep(25);
  }
}

/** Everything the child writes (stdout and stderr, interleaved), read when called. */
export function collect(child: ChildProcess): () => string {
  let out = "";
  child.stdout?.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    out += chunk;
  });
  return () => out;
}

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

/** SIGTERM, then SIGKILL when it is still there after `ms`. */
export async function terminate(child: ChildProcess, ms = 5000): Promise<void> {
  await kill(child, "SIGTERM", ms);
  await kill(child, "SIGKILL");
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  base: string;
  output: () => string;
}

/**
 * Node options for every server process from BENCH_SERVER_ARGS (split at spaces), for profiling a run:
 * `BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=prof"` (Node refuses --cpu-prof in NODE_OPTIONS).
 */
const serverArgs = () => process.env.BENCH_SERVER_ARGS?.split(" ").filter(Boolean) ?? [];

/**
 * Starts `script` (absolute, or from the current folder) with `node --import tsx` in its own process and
 * waits for its `LISTENING <port>` line; a child that fails to get there is killed before the error is thrown.
 */
export async function startServer(
  script: string,
  env: Record<string, string>,
  what: string,
  ms = 20_000,
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [...conditions(), ...serverArgs(), "--import", TSX, resolve(script)],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output = collect(child);
  try {
    await waitFor(child, output, /LISTENING \d+/, ms, what);
  } catch (error) {
    await kill(child);
    throw error;
  }
  const port = Number(/LISTENING (\d+)/.exec(output())![1]);
  return { child, port, base: `http://127.0.0.1:${port}`, output };
}
