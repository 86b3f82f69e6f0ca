import { networkInterfaces } from "node:os";
import { expect } from "chai";
import { commandEnv, lines, runStoat } from "../support/cli.js";
import { freePort } from "../support/net.js";
import { LISTENING, StoatProcess } from "./server_process.js";
import { HELLO_APP, makeProject, type TempProject } from "./temp_project.js";

// `stoat server` for real: where it binds, the address it prints, --app, and stopping.

/** A JavaScript application module: what `npm run build` leaves in dist/, served with no tsx. */
const JS_APP = `import { Application, Handler } from "stoat";

class Hello extends Handler {
  async index() {
    this.respond("hello from JavaScript");
  }
}

export default Application.configure((config) => {
  config.routes = (r) => r.get("/", Hello, "index");
  config.session.options = { secret: process.env.SECRET_KEY_BASE };
});
`;

const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) =>
  list?.some((i) => i.internal && i.family === "IPv6" && i.address === "::1"),
);

describe("stoat server", function () {
  this.timeout(30000);

  let server: StoatProcess | undefined;
  const projects: TempProject[] = [];
  afterEach(async () => {
    if (server?.running) await server.stop("SIGKILL");
    server = undefined;
  });
  after(() => {
    for (const p of projects) p.remove();
  });

  /** Starts `stoat server ...args` and resolves with the URL it prints, once it listens. */
  async function start(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    server = new StoatProcess(["server", ...args], options);
    const [, url, host, port] = await server.waitForLine(LISTENING);
    return { url: url!, host: host!, port: Number(port) };
  }

  it("binds 127.0.0.1 in development and prints the address it listens on", async () => {
    const { url, host, port } = await start(["--port", "0"]);
    expect(host).to.equal("127.0.0.1");
    expect(port).to.be.above(0);
    expect(url).to.equal(`http://127.0.0.1:${port}`);
    expect((await fetch(`${url}/hello`)).status).to.equal(200);
  });

  it("binds every interface when NODE_ENV=production, and says so", async () => {
    const env = { ...commandEnv(), NODE_ENV: "production" };
    const { host, port } = await start(["--port", "0"], { env });
    expect(["[::]", "0.0.0.0"]).to.include(host);
    expect(server!.stdout).to.include("(all interfaces)");
    expect((await fetch(`http://127.0.0.1:${port}/hello`)).status).to.equal(200);
  });

  it("HOST chooses the address, in production too", async () => {
    const env = { ...commandEnv(), NODE_ENV: "production", HOST: "127.0.0.1" };
    const { url, port } = await start(["--port", "0"], { env });
    expect(url).to.equal(`http://127.0.0.1:${port}`);
  });

  it("--host wins over HOST, and an IPv6 address is printed in brackets", async function () {
    if (!hasIpv6Loopback) this.skip(); // no ::1 on this machine
    const env = { ...commandEnv(), HOST: "127.0.0.1" };
    const { url, port } = await start(["--host", "::1", "--port", "0"], { env });
    expect(url).to.equal(`http://[::1]:${port}`);
    expect((await fetch(`${url}/hello`)).status).to.equal(200);
  });

  it("PORT chooses the port when --port is not given", async () => {
    const port = await freePort();
    const { url } = await start([], { env: { ...commandEnv(), PORT: String(port) } });
    expect(url).to.equal(`http://127.0.0.1:${port}`);
  });

  it("stops on SIGTERM with exit 0", async () => {
    await start(["--port", "0"]);
    const { code, signal } = await server!.stop("SIGTERM");
    expect(signal).to.equal(null);
    expect(code).to.equal(0);
    expect(lines(server!.stdout).at(-1)).to.equal("Stopping");
  });

  describe("--app", () => {
    it("serves a JavaScript module with plain node, in a project without tsx", async () => {
      const p = makeProject({ "dist/config/application.js": JS_APP }, { tsx: false });
      projects.push(p);
      const { url } = await start(["--app", "dist/config/application.js", "--port", "0"], { cwd: p.dir });
      const res = await fetch(url);
      expect(res.status).to.equal(200);
      expect(await res.text()).to.equal("hello from JavaScript");
    });

    it("serves a TypeScript module through the project's tsx", async () => {
      const p = makeProject({
        ...HELLO_APP,
        "config/other.ts": HELLO_APP["config/application.ts"].replace('r.get("/"', 'r.get("/other"'),
      });
      projects.push(p);
      const { url } = await start(["--app", "config/other.ts", "--port", "0"], { cwd: p.dir });
      const res = await fetch(`${url}/other`);
      expect(res.status).to.equal(200);
      expect(await res.text()).to.equal("hello");
    });

    it("routes and the sessions commands take it too", async () => {
      const p = makeProject({ "dist/config/application.js": JS_APP }, { tsx: false });
      projects.push(p);
      const routes = await runStoat(["routes", "--app", "dist/config/application.js"], { cwd: p.dir });
      expect(routes.stderr).to.equal("");
      expect(lines(routes.stdout)[1]!.split(/\s+/)).to.deep.equal(["GET", "/", "Hello#index"]);
      const list = await runStoat(["sessions:list", "--user", "1", "--app", "dist/config/application.js"], {
        cwd: p.dir,
      });
      expect(list.code).to.equal(1); // loaded, then refused: the cookie store keeps no list
      expect(list.stderr).to.match(/^stoat sessions:list: .*"database"/);
    });
  });
});
