import { parseArgs } from "node:util";
import { CliError } from "../cli_error.js";
import { loadApp } from "../load_app.js";

export const summary = "serve config/application.ts of this project [--port N] [--host H]";

export async function run(args: string[], out: (line: string) => void): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { port: { type: "string", short: "p" }, host: { type: "string" } },
    strict: true,
  });
  const given = values.port ?? process.env.PORT ?? "3000";
  const port = Number(given);
  if (!/^\d+$/.test(given) || port > 65535) throw new CliError(`--port takes a port number, got ${given}`, 2);
  const app = await loadApp(process.cwd());
  const server = await app.listen(port, values.host, { log: out });
  const address = server.address();
  const shown = typeof address === "object" && address ? address.port : port;
  const store = app.config.session.store;
  out(
    `Stoat listening on http://${values.host ?? "localhost"}:${shown} ` +
      `(session store: ${typeof store === "string" ? store : store.name}); Ctrl-C to stop`,
  );
  const stop = () => {
    out("Stopping");
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
