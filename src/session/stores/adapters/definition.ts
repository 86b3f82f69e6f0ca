import type { Schema } from "../../validation.js";
import type { Backend } from "../backend.js";
import type { AdapterOptions } from "./options.js";

/**
 * A server-side store over Keyv, whole in its adapter file: its name, the package it imports when
 * configured, the options it takes beyond the common ones, and how it opens. The list in index.ts
 * registers it; the registry, the config check and the generator read everything else from here.
 */
export interface KeyvStoreDefinition<N extends string = string> {
  readonly name: N;
  /** The optional peer dependency it imports when configured; none for the app's own `keyv`. */
  readonly package?: string;
  readonly rules: Schema;
  /** Checks across its options at boot, before anything is opened (two options that exclude each other). */
  check?(given: Readonly<Record<string, unknown>>): void;
  open(options: AdapterOptions): Promise<Backend>;
}

/** Keeps the literal name, so the list of definitions gives the type of the store names. */
export function defineKeyvStore<const N extends string>(
  definition: KeyvStoreDefinition<N>,
): KeyvStoreDefinition<N> {
  return definition;
}
