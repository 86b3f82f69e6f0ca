// Where the bench's files are, whatever directory it was started from: the root's `npm run bench` forwards
// to this package with `npm --prefix bench`, and the specs run from bench/.

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** This package's folder (bench/ in the Stoat repository). */
export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Where the runs write their reports unless told otherwise (`--out`). */
export const RESULTS_DIR = join(BENCH_DIR, "results");

/** The performance page of the docs, whose bench block `npm run bench -- --readme` rewrites. */
export const PERFORMANCE_PAGE = join(BENCH_DIR, "..", "docs", "performance.md");

/**
 * A path given on the command line, taken from where `npm run` was typed: npm runs a script in its
 * package's folder and says where it was started in INIT_CWD (the root, for the root's forwards).
 */
export function fromCommandLine(path: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), path);
}
