import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { bin, commandEnv, lines, repoRoot, runStoat } from "../support/cli.js";

// The `stoat` command, run for real (bin/stoat.js through node), as a user runs it.

/** `stoat ...args` in `cwd` (default: the repository), never throwing for a non-zero exit. */
const stoat = (args: string[], cwd?: string) => runStoat(args, { cwd });

describe("stoat (CLI)", function () {
  this.timeout(20000);

  it("secret prints one line of 128 lowercase hex characters, different on every run", async () => {
    const [a, b] = await Promise.all([stoat(["secret"]), stoat(["secret"])]);
    for (const r of [a, b]) {
      expect(r.code).to.equal(0);
      expect(r.stderr).to.equal("");
      expect(r.stdout).to.match(/^[0-9a-f]{128}\n$/);
    }
    expect(a.stdout).not.to.equal(b.stdout);
  });

  it("routes lists the demo app's routes with Handler#action", async () => {
    const r = await stoat(["routes"]);
    expect(r.code).to.equal(0);
    const [header, ...rows] = lines(r.stdout);
    expect(header!.split(/\s+/)).to.deep.equal(["Method", "Path", "Handler#action"]);
    expect(rows.map((row) => row.split(/\s+/))).to.deep.equal([
      ["GET", "/", "HomeHandler#index"],
      ["POST", "/sign_in", "HomeHandler#signIn"],
      ["POST", "/sign_out", "HomeHandler#signOut"],
      ["GET", "/posts", "PostsHandler#index"],
      ["GET", "/posts/:id", "PostsHandler#show"],
      ["GET", "/hello", "HelloHandler#get"],
    ]);
  });

  it("an unknown command exits 2 with a one-line error and the usage", async () => {
    const r = await stoat(["frobnicate"]);
    expect(r.code).to.equal(2);
    expect(r.stdout).to.equal("");
    const [error, ...rest] = lines(r.stderr);
    expect(error).to.equal('stoat: unknown command "frobnicate"');
    expect(rest[0]).to.match(/^Usage: stoat /);
    for (const command of ["secret", "server", "routes"]) {
      expect(rest.some((line) => line.trimStart().startsWith(`${command} `))).to.equal(true, command);
    }
  });

  it("help prints the usage, listing secret, server and routes", async () => {
    const r = await stoat(["help"]);
    expect(r.code).to.equal(0);
    expect(r.stderr).to.equal("");
    const out = lines(r.stdout);
    expect(out[0]).to.match(/^Usage: stoat /);
    const commands = out.slice(1).map((line) => line.trim().split(/\s+/)[0]);
    expect(commands).to.include.members(["secret", "server", "routes"]);
  });

  it("server --port abc exits 2 with a one-line error", async () => {
    const r = await stoat(["server", "--port", "abc"]);
    expect(r.code).to.equal(2);
    expect(r.stdout).to.equal("");
    const err = lines(r.stderr);
    expect(err).to.have.length(1);
    expect(err[0]).to.include("--port");
    expect(err[0]).to.include("abc");
  });

  it("routes outside a project exits non-zero with a one-line message", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stoat-cli-spec-"));
    try {
      const r = await stoat(["routes"], dir);
      expect(r.code).not.to.equal(0);
      expect(r.stdout).to.equal("");
      const err = lines(r.stderr);
      expect(err).to.have.length(1);
      expect(err[0]).to.include("config/application.ts");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("server", () => {
    let child: ChildProcessWithoutNullStreams | undefined;
    let stdout = "";
    let waiters: (() => void)[] = [];

    afterEach(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGKILL");
        await exited;
      }
      child = undefined;
    });

    /** Resolves with the first stdout line matching `pattern`, once the server has printed it. */
    function waitForLine(pattern: RegExp): Promise<RegExpMatchArray> {
      return new Promise((resolvePromise, reject) => {
        const check = () => {
          for (const line of stdout.split("\n")) {
            const match = line.match(pattern);
            if (match) return resolvePromise(match);
          }
          if (child?.exitCode !== null) {
            reject(
              new Error(`stoat server exited (${child?.exitCode}) before printing ${pattern}:\n${stdout}`),
            );
            return;
          }
          waiters.push(check);
        };
        check();
      });
    }

    it("serves the demo on --port 0 and logs one line per request", async () => {
      stdout = "";
      waiters = [];
      let stderr = "";
      child = spawn(process.execPath, [bin, "server", "--port", "0"], { cwd: repoRoot, env: commandEnv() });
      const exited = once(child, "exit");
      const wake = () => {
        for (const waiter of waiters.splice(0)) waiter();
      };
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        wake();
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      child.on("exit", wake);

      const [, base] = await waitForLine(/listening on (http:\/\/[^\s:]+:(\d+))/);
      expect(Number(base!.split(":").pop())).to.be.above(0);

      const index = await fetch(`${base}/posts`);
      expect(index.status).to.equal(200);
      expect(await index.json()).to.deep.equal({ message: "set some data in the session" });
      const setCookie = index.headers.getSetCookie().find((c) => c.startsWith("_stoat_demo_session="));
      expect(setCookie, "the demo's session cookie").to.be.a("string");
      const cookie = setCookie!.split(";")[0]!;

      const show = await fetch(`${base}/posts/1`, { headers: { Cookie: cookie } });
      expect(show.status).to.equal(200);
      const session = (await show.json()) as Record<string, unknown>;
      expect(Object.keys(session)).to.deep.equal(["current_time"]);
      const time = session.current_time as string;
      expect(new Date(time).toISOString()).to.equal(time);

      await waitForLine(/^GET \/posts\/1 200 /);
      child.kill("SIGTERM");
      const [code, signal] = await exited;
      expect(signal).to.equal(null);
      expect(code).to.equal(0);
      expect(stderr).to.equal("");

      const requestLines = lines(stdout).filter((line) => /^[A-Z]+ \//.test(line));
      expect(requestLines).to.have.length(2);
      expect(requestLines[0]).to.match(/^GET \/posts 200 \d+(\.\d+)?ms$/);
      expect(requestLines[1]).to.match(/^GET \/posts\/1 200 \d+(\.\d+)?ms$/);
    });
  });
});
