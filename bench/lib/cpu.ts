// A server process's CPU time (user + system, from /proc/<pid>/stat), so each measurement can say what one
// request cost the server. Unlike req/s, that barely moves when a neighbour takes the machine for a while:
// it is what the code under test decides. Linux only: elsewhere there is no reading and no column.

import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime/stime (USER_HZ: 100 on every Linux Node.js runs on). */
const TICKS_PER_SECOND = 100;

/** The process's CPU time so far in microseconds, or undefined where /proc cannot tell. */
export function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return parseStatCpu(stat);
}

/**
 * utime + stime of one /proc/<pid>/stat line, in microseconds. The command name (field 2) is in parentheses
 * and may hold spaces or ")", so fields are counted from the last ")".
 */
export function parseStatCpu(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1_000_000) / TICKS_PER_SECOND;
}
