import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { bin, commandEnv, repoRoot } from "../support/cli.js";

// A long-running `stoat ...` (server, server --watch) in a child process, read line by line.

export class StoatProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = "";
  stderr = "";
  readonly #waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn(process.execPath, [bin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? commandEnv(),
      // A group of its own, so stop("SIGKILL") takes its children too (`--watch` runs the server in one):
      // an orphan would hold the output pipes open and keep mocha from ever exiting.
      detached: true,
    });
    const wake = () => {
      for (const waiter of [...this.#waiters]) waiter();
    };
    this.child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      this.stdout += chunk;
      wake();
    });
    this.child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk;
      wake();
    });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        resolve({ code, signal });
        wake();
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * The `nth` (1 = first) stdout line matching `pattern`, once printed; rejects if the process exits first.
   */
  waitForLine(pattern: RegExp, nth = 1): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const matches = this.stdout
          .split("\n")
          .map((line) => line.match(pattern))
          .filter((m): m is RegExpMatchArray => m !== null);
        if (matches.length >= nth) {
          this.#waiters.delete(check);
          resolve(matches[nth - 1]!);
        } else if (!this.running) {
          this.#waiters.delete(check);
          reject(new Error(`stoat exited before printing ${pattern}:\n${this.stdout}\n${this.stderr}`));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  /**
   * Sends `signal` and resolves with how the process ended. SIGTERM and SIGINT go to the command alone (it
   * must pass them on itself); SIGKILL, which it cannot, goes to its whole process group.
   */
  async stop(signal: NodeJS.Signals = "SIGTERM") {
    if (this.running) {
      if (signal === "SIGKILL" && this.child.pid !== undefined) process.kill(-this.child.pid, signal);
      else this.child.kill(signal);
    }
    return this.exited;
  }
}

/** The URL a `stoat server` prints in its "listening on" line. */
export const LISTENING = /^Stoat listening on (http:\/\/(\S+):(\d+))/;
