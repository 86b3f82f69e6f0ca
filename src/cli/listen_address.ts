import type { AddressInfo } from "node:net";
import { ListenError } from "./cli_error.js";

/** The default bind address: this machine only in development, every interface in production. */
export function defaultHost(env: string): string | undefined {
  return env === "production" ? undefined : "127.0.0.1";
}

/** http://127.0.0.1:3000, http://[::1]:3000: the address a server really listens on. */
export function urlOf(address: AddressInfo | string | null): string {
  if (address === null || typeof address === "string") return String(address);
  const ipv6 = address.family === "IPv6" || (address.family as unknown) === 6;
  return `http://${ipv6 ? `[${address.address}]` : address.address}:${address.port}`;
}

/** Whether the server answers on every interface ("::" or "0.0.0.0"). */
export function isWildcard(address: AddressInfo | string | null): boolean {
  return typeof address === "object" && address !== null && ["::", "0.0.0.0"].includes(address.address);
}

/** A listen failure the user can fix, as one line naming the port or host and what to do; else undefined. */
export function listenProblem(err: unknown, port: number, host: string | undefined): ListenError | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  const where = host === undefined ? `port ${port}` : `${host} port ${port}`;
  switch (code) {
    case "EADDRINUSE":
      return new ListenError(
        `${where} is already in use: stop the program using it, or pick another port with --port N (or PORT=N)`,
      );
    case "EACCES":
      return new ListenError(`no permission to listen on ${where}: pick a port above 1023 with --port N`);
    case "EADDRNOTAVAIL":
      return new ListenError(`cannot listen on ${host}: not an address of this machine (--host or HOST)`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new ListenError(`cannot listen on ${host}: no such host (--host or HOST)`);
    default:
      return undefined;
  }
}
