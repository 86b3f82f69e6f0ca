import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

// Debian's Chromium driven by playwright-core: no browser download, ever (README, "Browser tests").

/** Where Debian puts it; .ci/run installs the package when it is missing. */
export const CHROMIUM = "/usr/bin/chromium";
export const RESULTS_DIR = "test-results";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox (CI runs as root); the background services would dial out, and this machine's closed
    // network refuses them in ways that can stall the browser.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Empties test-results/ as Playwright's own runner does, so PNGs found there belong to the last run. */
export function clearResults(): void {
  rmSync(RESULTS_DIR, { recursive: true, force: true });
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

/**
 * A screenshot after every step, kept in memory: only a failed test writes them (plus the page as it was
 * when the test failed), named store--test--NN-step.png, so the failing step can be seen next to the ones before.
 */
export class Steps {
  #shots: { step: string; png: Buffer }[] = [];

  constructor(readonly page: Page) {}

  async shot(step: string): Promise<void> {
    this.#shots.push({ step, png: await this.page.screenshot({ fullPage: true }) });
  }

  /** Writes the shots as `<name parts, slugged, joined by -->--NN-<step>.png`; returns the paths. */
  async save(...name: string[]): Promise<string[]> {
    const prefix = name.map(slug).join("--");
    await this.shot("at-failure").catch(() => {}); // the page may be gone if the browser died
    mkdirSync(RESULTS_DIR, { recursive: true });
    return this.#shots.map(({ step, png }, i) => {
      const file = join(RESULTS_DIR, `${prefix}--${String(i + 1).padStart(2, "0")}-${slug(step)}.png`);
      writeFileSync(file, png);
      return file;
    });
  }
}
