import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

// A redis-server of a spec's own on a free port (the caller checks the binary with useBinary first): for a
// spec that kills and restarts it, or that reads the server's own command counts with no other client.

/** Starts redis-server on 127.0.0.1:`port` with nothing saved to disk unless `args` says otherwise. */
export async function startRedis(port: number, args: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout!.on("data", (chunk) => {
    output += chunk;
  });
  for (let i = 0; i < 100 && !/Ready to accept connections/.test(output); i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
    await sleep(50);
  }
  if (!/Ready to accept connections/.test(output)) throw new Error(`redis-server did not start: ${output}`);
  return child;
}
