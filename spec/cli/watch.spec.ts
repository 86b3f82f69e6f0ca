import { expect } from "chai";
import { LISTENING, StoatProcess } from "./server_process.js";
import { HELLO_APP, helloHandler, makeProject, type TempProject } from "./temp_project.js";

// `stoat server --watch` (what a generated project's `npm run dev` runs): a change under src/ or config/
// restarts the server, and the new code answers.

describe("stoat server --watch", function () {
  this.timeout(60000);

  let project: TempProject;
  let server: StoatProcess | undefined;
  beforeEach(() => {
    project = makeProject(HELLO_APP);
  });
  afterEach(async () => {
    if (server?.running) await server.stop("SIGKILL");
    server = undefined;
    project.remove();
  });

  async function body(url: string): Promise<string> {
    const res = await fetch(url);
    expect(res.status).to.equal(200);
    return res.text();
  }

  it("restarts when a handler under src/ changes, and serves the new response", async () => {
    server = new StoatProcess(["server", "--watch", "--port", "0"], { cwd: project.dir });
    const [, first] = await server.waitForLine(LISTENING);
    expect(await body(first!)).to.equal("hello");

    project.write("src/handlers/hello_handler.ts", helloHandler("hello again"));
    const [, second] = await server.waitForLine(LISTENING, 2);
    expect(await body(second!)).to.equal("hello again");
  });

  it("restarts when config/ changes", async () => {
    server = new StoatProcess(["server", "-w", "--port", "0"], { cwd: project.dir });
    await server.waitForLine(LISTENING);
    project.write(
      "config/application.ts",
      HELLO_APP["config/application.ts"].replace('r.get("/"', 'r.get("/moved"'),
    );
    const [, url] = await server.waitForLine(LISTENING, 2);
    expect(await body(`${url}/moved`)).to.equal("hello");
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`stops cleanly on ${signal}: the server closes and the command exits 0`, async () => {
      server = new StoatProcess(["server", "--watch", "--port", "0"], { cwd: project.dir });
      const [, url] = await server.waitForLine(LISTENING);
      const { code, signal: killedBy } = await server.stop(signal);
      expect(killedBy).to.equal(null);
      expect(code).to.equal(0);
      expect(server.stdout).to.match(/^Stopping$/m);
      // Nothing listens there any more: the server child went with it.
      const error = await fetch(url!).then(
        () => undefined,
        (err: Error & { cause?: { code?: string } }) => err.cause?.code,
      );
      expect(error).to.equal("ECONNREFUSED");
    });
  }
});
