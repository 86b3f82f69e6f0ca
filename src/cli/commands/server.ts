import type { Application } from "../../app/application.js";
import { UsageError } from "../cli_error.js";
import type { Out } from "../command.js";
import { defaultHost, isWildcard, listenProblem, urlOf } from "../listen_address.js";
import { APP_OPTION, DEFAULT_APP, loadApp } from "../load_app.js";
import { parseOptions } from "../options.js";
import { WATCHED_DIRS, watchServer } from "../watch.js";

export const summary = "serve the project's application (config/application.ts) over HTTP";

export const details = [
  "Listens on 127.0.0.1 in development and on every interface when NODE_ENV=production.",
  `With --watch (what \`npm run dev\` runs) it restarts when a file under ${WATCHED_DIRS.join("/ or ")}/ changes.`,
];

export const options = {
  port: {
    type: "string",
    short: "p",
    value: "N",
    description: "the port to listen on (default: PORT, else 3000; 0 picks a free one)",
  },
  host: {
    type: "string",
    value: "HOST",
    description: "the address to bind (default: HOST, else 127.0.0.1 in development, all in production)",
  },
  app: APP_OPTION,
  watch: {
    type: "boolean",
    short: "w",
    description: `restart on changes under ${WATCHED_DIRS.join("/ and ")}/`,
  },
} as const;

export async function run(args: string[], out: Out): Promise<void> {
  const { values } = parseOptions(args, options);
  const port = parsePort(values.port ?? process.env.PORT ?? "3000");
  if (values.watch) return watchServer(process.cwd(), args);

  const app = await loadApp(process.cwd(), values.app ?? DEFAULT_APP);
  const host = values.host ?? (process.env.HOST || undefined) ?? defaultHost(app.config.env);
  let server: Awaited<ReturnType<Application["listen"]>>;
  try {
    server = await app.listen(port, host, { log: out });
  } catch (err) {
    await app.close().catch(() => {}); // the listen failure is the one to report
    throw listenProblem(err, port, host) ?? err;
  }
  stopOnSignals(app, out); // before the line below: whoever waits for it may signal at once
  const address = server.address();
  const store = app.config.session.store;
  out(
    `Stoat listening on ${urlOf(address)}${isWildcard(address) ? " (all interfaces)" : ""} ` +
      `(session store: ${typeof store === "string" ? store : store.name}); Ctrl-C to stop`,
  );
}

function parsePort(given: string): number {
  const port = Number(given);
  if (!/^\d+$/.test(given) || port > 65535) {
    throw new UsageError(`--port takes a port number (0-65535), got ${given}`);
  }
  return port;
}

/**
 * SIGINT or SIGTERM closes the app (requests in flight finish) and exits 0. Under --watch a Ctrl-C
 * reaches the server twice (from the terminal and from the watcher), so later signals are ignored.
 */
function stopOnSignals(app: Application, out: Out): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    out("Stopping");
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
