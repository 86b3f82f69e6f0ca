import { ConfigError } from "../../errors.js";

// Helpers the SQL stores (postgres, mysql) share.

export function requireUrl(store: string, url: string | undefined): string {
  if (!url)
    throw new ConfigError(`session store "${store}" needs \`url\` (${store}://user@host:port/database)`);
  return url;
}

/** Runs `create` until it succeeds once; concurrent callers share the attempt, a failure is retried later. */
export function createOnce(create: () => Promise<void>): () => Promise<void> {
  let attempt: Promise<void> | undefined;
  return () => {
    attempt ??= create().catch((error: unknown) => {
      attempt = undefined;
      throw error;
    });
    return attempt;
  };
}
