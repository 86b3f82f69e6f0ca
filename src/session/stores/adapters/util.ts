import { ConfigError } from "../../errors.js";
import { type Rule, rules } from "../../validation.js";

// Helpers the adapters share: the URL option (redis, postgres, mysql) and the SQL stores' connection set-up.

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

/** A URL option of one of `schemes`. */
export function urlRule(schemes: readonly string[]): Rule {
  return rules.string(
    new RegExp(`^(${schemes.join("|")})://`),
    `a URL starting with ${schemes.map((s) => `${s}://`).join(" or ")}`,
  );
}
