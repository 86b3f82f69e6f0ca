import { inspect } from "node:util";
import { ConfigError } from "./errors.js";

// Boot-time checking of option objects: each option has a rule that returns what is allowed when a value
// is wrong. Errors name the full option path and the allowed values; misspelt keys get a suggestion.

export interface Rule {
  /** Undefined when `value` is acceptable, else what is allowed ("a positive whole number of seconds"). */
  check(value: unknown): string | undefined;
}

export type Schema = Record<string, Rule>;

/** Throws ConfigError for the first unknown key or bad value of `given` under `schema`. */
export function validate(given: object, schema: Schema, where: string): void {
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(schema, key)) {
      const hint = suggest(key, Object.keys(schema));
      throw new ConfigError(
        `${where}.${key} is not an option${hint ? `; did you mean ${hint}?` : ""} ` +
          `(allowed: ${Object.keys(schema).join(", ")})`,
      );
    }
    const value = (given as Record<string, unknown>)[key];
    if (value === undefined) continue; // `secret: process.env.X` with X unset means "use the default"
    const allowed = schema[key]!.check(value);
    if (allowed) throw new ConfigError(`${where}.${key} must be ${allowed}, got ${inspect(value)}`);
  }
}

/** The closest known name: snake_case and case slips first, then a small edit distance. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  const camel = key.toLowerCase().replace(/[_-]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const folded = key.replace(/[_-]/g, "").toLowerCase();
  const exact = known.find((name) => name === camel || name.toLowerCase() === folded);
  if (exact) return exact;
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const d = distance(folded, name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

// The rules used by the option schemas.

export const rules = {
  string: (pattern?: RegExp, what = "a string"): Rule => ({
    check: (v) => (typeof v === "string" && (!pattern || pattern.test(v)) ? undefined : what),
  }),
  boolean: (): Rule => ({ check: (v) => (typeof v === "boolean" ? undefined : "true or false") }),
  oneOf: (...allowed: readonly unknown[]): Rule => ({
    check: (v) => (allowed.includes(v) ? undefined : `one of ${allowed.map((a) => inspect(a)).join(", ")}`),
  }),
  seconds: (min = 1): Rule => ({
    check: (v) =>
      typeof v === "number" && Number.isInteger(v) && v >= min && v <= 2 ** 31
        ? undefined
        : `a whole number of seconds from ${min} to ${2 ** 31}`,
  }),
  wholeNumber: (min: number, max: number): Rule => ({
    check: (v) =>
      typeof v === "number" && Number.isInteger(v) && v >= min && v <= max
        ? undefined
        : `a whole number from ${min} to ${max}`,
  }),
  function: (): Rule => ({ check: (v) => (typeof v === "function" ? undefined : "a function") }),
  any: (): Rule => ({ check: () => undefined }),
};
