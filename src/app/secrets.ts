import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../session/errors.js";

/** A new random secret: 64 bytes as hex (what `stoat secret` prints). */
export function generateSecret(): string {
  return randomBytes(64).toString("hex");
}

/** Reads `<root>/.env` into process.env when it exists; the real environment wins (Node's own loader). */
export function loadEnv(root: string): void {
  const file = join(root, ".env");
  if (existsSync(file)) process.loadEnvFile(file);
}

export interface SecretSources {
  secret?: string;
  oldSecret?: string | string[];
}

/**
 * The secrets that seal sessions, current first: the option, else SECRET_KEY_BASE; old ones from `oldSecret`,
 * else SECRET_KEY_BASE_OLD (comma-separated). Without any secret, development gets one generated once into
 * tmp/development_secret.txt (as Rails does); production refuses to boot.
 */
export function resolveSecrets(
  given: SecretSources,
  root: string,
  production: boolean,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  // Checked here rather than by the generic validator, whose messages would echo the value: a secret.
  const secret: unknown =
    given.secret ?? (env.SECRET_KEY_BASE || undefined) ?? developmentSecret(root, production);
  if (typeof secret !== "string" || secret.length < 32) {
    throw new ConfigError(
      `config.session.options.secret (or SECRET_KEY_BASE) must be a string of at least 32 characters, got ${describe(secret)} ` +
        "(generate one with `npx stoat secret`)",
    );
  }
  if (production) refuseWeak(secret, "config.session.options.secret (or SECRET_KEY_BASE)");
  const old: unknown = given.oldSecret ?? (env.SECRET_KEY_BASE_OLD || "").split(",");
  const list: unknown[] = Array.isArray(old) ? old : [old];
  const oldSecrets: string[] = [];
  for (const item of list) {
    const trimmed = typeof item === "string" ? item.trim() : item;
    if (trimmed === "") continue;
    if (typeof trimmed !== "string" || trimmed.length < 32) {
      throw new ConfigError(
        "config.session.options.oldSecret (or SECRET_KEY_BASE_OLD) must be a string of at least 32 characters, " +
          `or a list of them; one is ${describe(trimmed)}`,
      );
    }
    if (production) refuseWeak(trimmed, "config.session.options.oldSecret (or SECRET_KEY_BASE_OLD)");
    if (trimmed !== secret) oldSecrets.push(trimmed);
  }
  return [secret, ...oldSecrets];
}

/** Fewer distinct characters than this is a placeholder ("x" * 32, "changeme" repeated), not a secret. */
const MIN_DISTINCT_CHARACTERS = 8;

/**
 * Production refuses a secret anyone could guess however long it is: blank or whitespace only, or of low
 * variety. A generated secret (64 random bytes as hex) has all 16 hex digits.
 */
function refuseWeak(secret: string, name: string): void {
  const distinct = new Set(secret).size;
  const problem =
    secret.trim() === ""
      ? "is blank (whitespace only)"
      : distinct < MIN_DISTINCT_CHARACTERS
        ? `has only ${distinct} distinct characters (at least ${MIN_DISTINCT_CHARACTERS} are needed)`
        : undefined;
  if (problem !== undefined) {
    throw new ConfigError(
      `${name} ${problem}: production needs a random secret; generate one with \`npx stoat secret\``,
    );
  }
}

/** Says what a bad secret is without printing it. */
function describe(value: unknown): string {
  return typeof value === "string" ? `a string of ${value.length} characters` : typeof value;
}

function developmentSecret(root: string, production: boolean): string {
  if (production) {
    throw new ConfigError(
      "no session secret in production: set SECRET_KEY_BASE (generate one with `npx stoat secret`) " +
        "or config.session.options.secret",
    );
  }
  const file = join(root, "tmp", "development_secret.txt");
  if (existsSync(file)) {
    const stored = readFileSync(file, "utf8").trim();
    if (stored.length >= 32) return stored;
  }
  const secret = generateSecret();
  mkdirSync(join(root, "tmp"), { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  console.warn(`stoat: no SECRET_KEY_BASE set; generated a development secret in ${file}`);
  return secret;
}
