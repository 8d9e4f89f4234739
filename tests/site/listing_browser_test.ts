/**
 * A directory listing in a real browser: `listingResponse` is served by
 * `Deno.serve` for a temporary folder (a file whose name is markup, a
 * subfolder, a large file), and Chromium opens it. No dialog may fire, the
 * columns must have headers, the markup name must be a link's text, and
 * the "Size" header must sort by size. A screenshot is saved to
 * `LISTING_SCREENSHOT` (or the temporary folder) for a person to look at.
 *
 * Chromium is driven by this file run as a program (see the end of the
 * file), as in ../dev/browser_test.ts: playwright-core needs all
 * permissions, which the test task does not have. The test is ignored when
 * Chromium is not installed.
 *
 * @module
 */

// Full specifier, as in ../_deps.ts: test libraries stay out of the import map.
// A type import only: the module itself is loaded by the driver alone.
// deno-lint-ignore no-import-prefix
import type { Page } from "npm:playwright-core@1.65.2";
import { assert, assertEquals, fromFileUrl, join } from "../_deps.ts";
import { CHROMIUM, CHROMIUM_ARGS, named, NO_CHROMIUM } from "../_chromium.ts";
import { spawnDeno, type Spawned, type Stopped } from "../main/_process.ts";
import { listingResponse } from "../../lib/site/listing.ts";

/** How long each wait in the browser may take: only a safety net. */
const BROWSER_DEADLINE_MS = 10_000;

/** How long the driver may take in all (it may fetch playwright-core on a first run). */
const DRIVER_DEADLINE_MS = 90_000;

/** A name that would run a script if it reached the page as markup. */
const XSS = "<img src=x onerror=alert(1)>.txt";

/** The files of the listed folder, by name, with their sizes. */
const FILES: Readonly<Record<string, number>> = {
  [XSS]: 100,
  "notes #1.md": 1_500,
  "a.txt": 12,
  "video.mp4": 5 * 2 ** 20,
};

/** The listing's names in size order: the folder first, then the files, smallest first. */
const BY_SIZE = ["sub", "a.txt", XSS, "notes #1.md", "video.mp4"];

/** Where the listing is served. */
const LISTED_PATH = "/files/";

/** Writes the listed folder, with one modification time for every entry. */
async function makeFolder(dir: string): Promise<void> {
  const time = new Date("2026-01-15T09:30:00Z");
  await Deno.mkdir(join(dir, "sub"));
  await Deno.writeTextFile(join(dir, "sub", "inner.txt"), "inside");
  for (const [name, size] of Object.entries(FILES)) {
    const path = join(dir, name);
    await Deno.writeFile(path, new Uint8Array());
    await Deno.truncate(path, size);
    await Deno.utime(path, time, time);
  }
  await Deno.utime(join(dir, "sub"), time, time);
}

// --- The driver ---------------------------------------------------------

/** What the driver saw, printed as JSON on its last line. */
interface DriverReport {
  /** The messages of every dialog that opened. */
  dialogs: string[];
  /** The `scope` of each column header. */
  scopes: (string | null)[];
  /** Whether a link's text is the markup name. */
  xssIsLinkText: boolean;
  /** How many images the document has (the markup name would add one). */
  images: number;
  /** After clicking "Size": the query, the header's `aria-sort`, the names in order. */
  afterSizeClick: { search: string; ariaSort: string | null; names: string[] };
  /** Console messages of type error, and uncaught errors. */
  errors: string[];
}

/** Evaluates a source expression in the page: the type checker has no DOM types. */
function read<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate<T>(expression);
}

/** The entry names in the page's order, without the parent row and the folders' `/`. */
const ROW_NAMES = `[...document.querySelectorAll('tbody th a')]
  .map((a) => a.getAttribute('href') === '../' ? null : a.textContent.replace(/\\/$/, ''))
  .filter((name) => name !== null)`;

/** Opens the listing, checks it, saves the screenshot, then sorts by size. */
async function driveListing(page: Page, url: string, screenshot: string): Promise<DriverReport> {
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(url, { waitUntil: "load" });
  const scopes = await read<(string | null)[]>(
    page,
    "[...document.querySelectorAll('thead th')].map((th) => th.getAttribute('scope'))",
  );
  const xssIsLinkText = await read<boolean>(
    page,
    `[...document.querySelectorAll('a')].some((a) => a.textContent === ${JSON.stringify(XSS)})`,
  );
  const images = await read<number>(page, "document.images.length");
  await page.screenshot({ path: screenshot, fullPage: true });
  await Promise.all([
    page.waitForURL(/sort=size/, { timeout: BROWSER_DEADLINE_MS }),
    page.getByRole("link", { name: "Size", exact: true }).click(),
  ]);
  const afterSizeClick = {
    search: new URL(page.url()).search,
    ariaSort: await read<string | null>(
      page,
      "[...document.querySelectorAll('thead th')][1].getAttribute('aria-sort')",
    ),
    names: await read<string[]>(page, ROW_NAMES),
  };
  return { dialogs, scopes, xssIsLinkText, images, afterSizeClick, errors };
}

/** Starts Chromium, runs the checks and reports what it saw. */
async function drive(url: string, screenshot: string): Promise<DriverReport> {
  // deno-lint-ignore no-import-prefix
  const { chromium } = await import("npm:playwright-core@1.65.2");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS],
    timeout: BROWSER_DEADLINE_MS,
  });
  try {
    const page = await browser.newPage({ viewport: { width: 960, height: 640 } });
    page.setDefaultTimeout(BROWSER_DEADLINE_MS);
    return await driveListing(page, url, screenshot);
  } finally {
    await browser.close();
  }
}

// --- The test -----------------------------------------------------------

/** Serves the listing of `dir` at {@linkcode LISTED_PATH}, and 404 for anything else. */
function serveListing(dir: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const urlPath = new URL(request.url).pathname;
    if (urlPath !== LISTED_PATH) return new Response("Not found", { status: 404 });
    return listingResponse(request, { path: dir, urlPath }, { root: dir });
  });
}

Deno.test({
  name: named(
    "listingResponse() shows Chromium a listing that runs nothing and sorts by its headers",
    NO_CHROMIUM,
  ),
  ignore: NO_CHROMIUM !== null,
  fn: async () => {
    const temp = await Deno.makeTempDir({ prefix: "portico_listing_browser_" });
    const dir = join(temp, "files");
    await Deno.mkdir(dir);
    await makeFolder(dir);
    const screenshot = Deno.env.get("LISTING_SCREENSHOT") ?? join(temp, "listing.png");
    const server = serveListing(await Deno.realPath(dir));
    let driver: Spawned | null = null;
    let stopped: Stopped;
    let png: Uint8Array;
    try {
      const url = `http://127.0.0.1:${server.addr.port}${LISTED_PATH}`;
      // --no-lock: the lock is the test runner's; a second writer could only race it.
      driver = spawnDeno(["run", "-A", "--no-lock", fromFileUrl(import.meta.url), url, screenshot]);
      stopped = await driver.exited(DRIVER_DEADLINE_MS);
      png = await Deno.readFile(screenshot);
    } finally {
      await driver?.stop();
      await server.shutdown();
      await Deno.remove(temp, { recursive: true });
    }
    assertEquals(stopped.status.code, 0, stopped.stderr);
    const report: DriverReport = JSON.parse(stopped.stdout.trim().split("\n").at(-1)!);
    assertEquals(report.dialogs, []);
    assertEquals(report.scopes, ["col", "col", "col"]);
    assert(report.xssIsLinkText, "the markup name is not a link's text");
    assertEquals(report.images, 0);
    assertEquals(report.afterSizeClick, {
      search: "?sort=size&order=asc",
      ariaSort: "ascending",
      names: BY_SIZE,
    });
    assertEquals(report.errors, []);
    // A PNG file: its signature starts with 0x89 "PNG".
    assertEquals([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  },
});

// Run as a program (by the test above), this file drives Chromium and prints
// its report as JSON on its last line; under `deno test` this does not run.
if (import.meta.main) {
  console.log(JSON.stringify(await drive(Deno.args[0], Deno.args[1])));
}
