import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort } from "./net.js";

// A throwaway Redis Cluster of three masters (no replicas) from local redis-server processes, for the redis
// store's `cluster` option. The spec gates on redis-server and redis-cli first (useBinary), so nothing here
// skips: a missing binary or a cluster that never forms fails the spec, naming the cause.

const run = promisify(execFile);

export interface RedisCluster {
  readonly ports: readonly number[];
  /** "redis://127.0.0.1:<port>" of every master, for `cluster.rootNodes`. */
  readonly urls: readonly string[];
  /** The nodes' process ids, in the order of `ports` (a spec may SIGSTOP them for an outage). */
  readonly pids: readonly number[];
  /** Runs a redis-cli command against one node and answers its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Stops every process (by pid) and removes the directory. */
  stop(): Promise<void>;
}

/**
 * Starts three redis-server processes in cluster mode (on `chosen` ports, else free ones), forms the
 * cluster and waits until every node says it is ok.
 */
export async function startRedisCluster(chosen?: readonly number[]): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "stoat-redis-cluster-"));
  const children: ChildProcess[] = [];
  const killAll = () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  };
  process.once("exit", killAll); // never leave servers behind, even if `stop` is not reached
  const cli = async (port: number, ...args: string[]) =>
    (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args])).stdout;

  async function stop(): Promise<void> {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
    process.removeListener("exit", killAll);
    rmSync(dir, { recursive: true, force: true });
  }

  try {
    const ports = chosen ?? (await clusterPorts(3));
    for (const port of ports) children.push(await startNode(dir, port));
    for (const port of ports)
      await until(`redis-server on port ${port} answers PING`, dir, port, async () => {
        return (await cli(port, "PING").catch(() => "")).trim() === "PONG";
      });
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await run("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"]);
    for (const port of ports)
      await until(`node ${port} reports cluster_state:ok`, dir, port, async () => {
        return (await cli(port, "CLUSTER", "INFO")).includes("cluster_state:ok");
      });
    const urls = ports.map((port) => `redis://127.0.0.1:${port}`);
    const pids = children.map((child) => child.pid as number);
    return { ports, urls, pids, cli, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startNode(dir: string, port: number): Promise<ChildProcess> {
  // biome-ignore format: one flag and its value a line
  const child = spawn("redis-server", [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--cluster-enabled", "yes",
    "--cluster-config-file", join(dir, `nodes-${port}.conf`),
    "--save", "",
    "--appendonly", "no",
    "--dir", dir,
    "--logfile", join(dir, `redis-${port}.log`),
  ], { stdio: "ignore" });
  const [spawned] = await Promise.race([once(child, "spawn"), once(child, "error")]);
  if (spawned instanceof Error) {
    throw new Error(`cannot start redis-server (is it installed and on PATH?): ${spawned.message}`, {
      cause: spawned,
    });
  }
  return child;
}

/** Polls `ready` until it answers true; after 20 s fails, quoting the node's log. No timing is asserted. */
async function until(what: string, dir: string, port: number, ready: () => Promise<boolean>): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 50) {
    if (await ready()) return;
    await sleep(50);
  }
  let log = "";
  try {
    log = readFileSync(join(dir, `redis-${port}.log`), "utf8")
      .split("\n")
      .slice(-15)
      .join("\n");
  } catch {}
  throw new Error(`gave up waiting until ${what}; its log ends:\n${log}`);
}

/** `count` distinct free ports whose cluster bus ports (port + 10000) are free too. */
export async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > 200) throw new Error("found no free port pairs (port, port + 10000) for a Redis Cluster");
    const port = await freePort();
    if (port > 55_535 || ports.includes(port) || ports.includes(port - 10_000)) continue;
    if (ports.includes(port + 10_000) || !(await isFree(port + 10_000))) continue;
    ports.push(port);
  }
  return ports;
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    return true;
  } catch {
    return false;
  } finally {
    if (server.listening) {
      server.close();
      await once(server, "close");
    }
  }
}
