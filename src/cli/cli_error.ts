/**
 * A problem the CLI reports in one line on stderr, with no stack: the user can fix it from the message.
 * `exitCode` 2 means the command line itself was wrong (usage), 1 anything else.
 */
export class CliError extends Error {
  readonly code: string = "E_CLI";
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A wrong command line: an unknown option, a missing or bad value, a stray argument (exit 2). */
export class UsageError extends CliError {
  override readonly code: string = "E_CLI_USAGE";
  constructor(message: string, options?: ErrorOptions) {
    super(message, 2, options);
  }
}

/** The application module could not be found or imported (missing file, no TypeScript loader, a throw). */
export class AppLoadError extends CliError {
  override readonly code: string = "E_CLI_APP_LOAD";
}

/** The server could not listen: the port is taken, or the address is not this machine's. */
export class ListenError extends CliError {
  override readonly code: string = "E_CLI_LISTEN";
}
