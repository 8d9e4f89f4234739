/**
 * Where the tests find Chromium and how they start it: headless, without a
 * sandbox (CI runs as root), and fetching nothing behind the tests' back.
 *
 * @module
 */

/** Debian's Chromium, installed by `.ci/run`; tests that need it are ignored without it. */
export const CHROMIUM = "/usr/bin/chromium";

/** The flags every test launches Chromium with. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
