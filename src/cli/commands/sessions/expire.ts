import cliProgress from "cli-progress";
import { UsageError } from "../../cli_error.js";
import type { Out } from "../../command.js";
import { parseOptions } from "../../options.js";
import { APP_OPTION, count, withSessions } from "./common.js";

export const summary = "delete expired sessions in batches, with progress; prints the count";

export const options = {
  "batch-size": {
    type: "string",
    value: "N",
    description: "rows deleted per statement (default 1000), so no lock is held long",
  },
  "dry-run": { type: "boolean", description: "count the expired sessions, delete nothing" },
  app: APP_OPTION,
} as const;

export async function run(args: string[], out: Out): Promise<void> {
  const { values } = parseOptions(args, options);
  const given = values["batch-size"];
  const batchSize = given === undefined ? undefined : Number(given);
  if (given !== undefined && (!/^\d+$/.test(given) || !Number.isSafeInteger(batchSize) || batchSize! < 1)) {
    throw new UsageError(`--batch-size takes a positive whole number, got ${given}`);
  }
  const dryRun = values["dry-run"] === true;

  // A bar only for a person watching: piped into a file or a cron mail, the final line is enough.
  const stream = process.stdout;
  let bar: cliProgress.SingleBar | undefined;
  const onProgress = (done: number, total: number) => {
    if (!stream.isTTY || dryRun || total === 0) return; // a dry run only counts: nothing to watch
    if (bar === undefined) {
      bar = new cliProgress.SingleBar(
        {
          format: `Deleting expired sessions |{bar}| {percentage}% {value}/{total} ETA {eta_formatted}`,
          stream,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
    }
    bar.setTotal(Math.max(total, done));
    bar.update(done);
  };

  let deleted: number;
  try {
    deleted = await withSessions(values.app, (sessions) =>
      sessions.expire({ ...(batchSize === undefined ? {} : { batchSize }), dryRun, onProgress }),
    );
  } finally {
    bar?.stop(); // restores the cursor, also when expiring failed
  }
  out(
    dryRun
      ? `Would delete ${count(deleted, "expired session")} (dry run)`
      : `Deleted ${count(deleted, "expired session")}`,
  );
}
