import { generateSecret } from "../../app/secrets.js";

export const summary = "print a new random secret (64 bytes, hex) for SECRET_KEY_BASE";

export async function run(_args: string[], out: (line: string) => void): Promise<void> {
  out(generateSecret());
}
