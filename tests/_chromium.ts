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

/** Why tests that need Chromium are ignored, or null when it is installed. */
export const NO_CHROMIUM: string | null =
  await Deno.stat(CHROMIUM).then((info) => info.isFile, () => false)
    ? null
    : `${CHROMIUM} is not installed`;

/**
 * A test name that says why the test is ignored, when it is.
 *
 * @param name The test's name.
 * @param ignored Why it is ignored, or null.
 * @returns The name to give `Deno.test`.
 */
export function named(name: string, ignored: string | null): string {
  return ignored === null ? name : `${name} (ignored: ${ignored})`;
}
