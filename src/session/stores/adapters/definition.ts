import type { Schema } from "../../validation.js";
import type { Backend } from "../backend.js";
import type { AdapterOptions } from "./options.js";

/**
 * A server-side store, whole in one file: its name, the package it imports when configured, the options it
 * takes beyond the common ones, and how it opens its persistence (a Backend of raw reads and writes). The
 * shared core does everything else (ids, sealing at rest, merge, compare-and-set, destroy-wins, moves,
 * limits). Stoat's Keyv stores are listed in index.ts; an app registers its own with
 * `registerStore(name, serverStoreFactory(definition))`.
 */
export interface StoreDefinition<N extends string = string> {
  readonly name: N;
  /** The optional peer dependency it imports when configured, if any (generated projects declare it). */
  readonly package?: string;
  /** Its own options, checked at boot; none when omitted. */
  readonly rules?: Schema;
  /** Checks across its options at boot, before anything is opened (two options that exclude each other). */
  check?(given: Readonly<Record<string, unknown>>): void;
  open(options: AdapterOptions): Promise<Backend>;
}

/** Keeps the literal name, so the list of definitions gives the type of the store names. */
export function defineStore<const N extends string>(definition: StoreDefinition<N>): StoreDefinition<N> {
  return definition;
}
