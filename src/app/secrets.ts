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
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const secret = given.secret ?? (env.SECRET_KEY_BASE || undefined) ?? developmentSecret(root, env);
  if (secret.length < 32) {
    throw new ConfigError(
      `the session secret has ${secret.length} characters; it needs at least 32 (generate one with \`npx stoat secret\`)`,
    );
  }
  const old = given.oldSecret ?? (env.SECRET_KEY_BASE_OLD || "").split(",");
  const oldSecrets = (Array.isArray(old) ? old : [old]).map((s) => s.trim()).filter((s) => s.length > 0);
  for (const s of oldSecrets) {
    if (s.length < 32)
      throw new ConfigError("every old secret (SECRET_KEY_BASE_OLD, oldSecret) needs at least 32 characters");
  }
  return [secret, ...oldSecrets.filter((s) => s !== secret)];
}

function developmentSecret(root: string, env: NodeJS.ProcessEnv): string {
  if (env.NODE_ENV === "production") {
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
