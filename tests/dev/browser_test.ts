/**
 * Development mode in a real browser: main.ts runs with `--dev` on a
 * temporary root, Chromium shows its pages, and the root's files change
 * under them. A changed stylesheet must apply without a reload (the page
 * keeps its state, its scroll position and what was typed, and is never
 * without its styles), a changed image must be fetched again, a changed
 * page must reload, a restarted server must reload the page once, and a
 * Content-Security-Policy that blocks the script or its stream must leave
 * the page working.
 *
 * Chromium is driven by this file run as a program (see the end of the
 * file): playwright-core needs all permissions, which the test task does
 * not have. The driver writes the files itself, at the moments it is
 * ready to watch what they do, and asks the test for the one thing it
 * cannot do (restarting the server) with a line on standard output. One
 * browser session runs every check, to keep the time down.
 *
 * The test is ignored when Chromium is not installed; `.ci/run` installs it.
 *
 * @module
 */

// Full specifier, as in ../_deps.ts: test libraries stay out of the import map.
// A type import only: the module itself is loaded by the driver alone.
// deno-lint-ignore no-import-prefix
import type { Browser, Page, Request as BrowserRequest } from "npm:playwright-core@1.65.2";
import { assert, assertEquals, assertStringIncludes, fromFileUrl, join } from "../_deps.ts";
import { CHROMIUM, CHROMIUM_ARGS, named, NO_CHROMIUM } from "../_chromium.ts";
import { LISTENING_URL, spawnDeno, type Spawned, type Stopped } from "../main/_process.ts";
import { MAIN, serveTaskArgs } from "../main/_main.ts";
import { LIVE_EVENTS_PATH, LIVE_SCRIPT_PATH } from "../../lib/dev/paths.ts";

/**
 * How long each wait in the browser may take (a launch, a load, a change
 * showing up): only a safety net that turns a hang into a failure.
 */
const BROWSER_DEADLINE_MS = 10_000;

/**
 * How long the restart may take to show in the page: the server stops and
 * starts again (a fresh `deno run`), and the page tries again each second.
 */
const RESTART_DEADLINE_MS = 30_000;

/**
 * How long the driver may take in all: it loads playwright-core (fetched
 * from npm on a first run), starts the browser and runs every check.
 */
const DRIVER_DEADLINE_MS = 90_000;

/** How soon a changed stylesheet must show in the page. */
const CSS_APPLY_LIMIT_MS = 2_000;

/** How many times the stylesheet is rewritten and timed. */
const CSS_ROUNDS = 10;

/** The line the driver prints when the page is ready for the server to restart. */
const RESTART_LINE = "restart the server";

/** The query parameter the live script adds to what it fetches again. */
const BUST_PARAM = "portico-live";

/** The body colours the stylesheet is rewritten with, in turn, and the first one. */
const COLOURS = ["rgb(200, 0, 0)", "rgb(0, 0, 200)"] as const;
const FIRST_COLOUR = "rgb(0, 100, 0)";
/** The computed colour of a body no stylesheet styles: seeing it means the page was unstyled. */
const UNSTYLED_COLOUR = "rgb(0, 0, 0)";

/** A 1×1 red PNG, and a 2×1 blue one to replace it with (its new width shows the new bytes). */
const DOT_PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mM4wcAAAAJcAMl9NcHqAAAAAElFTkSuQmCC";
const WIDE_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAADUlEQVR42mNgYDgBRAAD7wGRGrfolQ" +
  "AAAABJRU5ErkJggg==";

/** The stylesheet with a body colour; it imports parts.css, so an imported sheet is tried too. */
function styleCss(colour: string): string {
  return `@import "/parts.css";\nbody { color: ${colour}; }\n`;
}

/** The imported sheet: the heading's colour, and a background image whose name has a space. */
function partsCss(headingColour: string): string {
  return `h1 { color: ${headingColour}; }\n` +
    `#backdrop { width: 10px; height: 10px; background-image: url("/img/a%20b.png"); }\n`;
}

/** The page under test: a stylesheet, an image, an input and a body tall enough to scroll. */
function indexHtml(heading: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Live</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1 id="heading">${heading}</h1>
<input id="field">
<img id="dot" src="/img/dot.png" alt="">
<div id="backdrop"></div>
<div style="height: 5000px"></div>
</body>
</html>
`;
}

/** A page whose Content-Security-Policy is `policy`, with `text` in its body. */
function policyHtml(policy: string, text: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<title>Policy</title>
<link rel="icon" href="data:,">
</head>
<body><p id="text">${text}</p></body>
</html>
`;
}

const FIRST_HEADING = "First version";
const SECOND_HEADING = "Second version";
const CONNECT_BLOCKED_TEXT = "A page that may not connect";
const SCRIPT_BLOCKED_TEXT = "A page that may not run scripts";

/** Writes the document root the driver changes. */
async function makeRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "portico_dev_browser_" });
  await Deno.mkdir(join(root, "img"));
  await Deno.writeTextFile(join(root, "index.html"), indexHtml(FIRST_HEADING));
  await Deno.writeTextFile(join(root, "style.css"), styleCss(FIRST_COLOUR));
  await Deno.writeTextFile(join(root, "parts.css"), partsCss("rgb(0, 0, 100)"));
  await Deno.writeFile(join(root, "img", "dot.png"), decodeBase64(DOT_PNG));
  await Deno.writeFile(join(root, "img", "a b.png"), decodeBase64(DOT_PNG));
  await Deno.writeTextFile(
    join(root, "connect.html"),
    policyHtml("connect-src 'none'", CONNECT_BLOCKED_TEXT),
  );
  await Deno.writeTextFile(
    join(root, "noscript.html"),
    policyHtml("script-src 'none'", SCRIPT_BLOCKED_TEXT),
  );
  return root;
}

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

// --- The driver ---------------------------------------------------------

/** What the driver saw, printed as JSON on its last line. */
interface DriverReport {
  /** For each stylesheet rewrite, the time from writing it to the page showing it. */
  cssApplyMs: number[];
  /** After the rewrites: the marker, the scroll position and the input's value. */
  afterCss: { marker: unknown; scrollY: number; field: string; links: number };
  /** The body colour after each change of the page's stylesheet links. */
  coloursWhileSwapping: string[];
  /** After parts.css (imported by style.css) changed: the heading colour and the marker. */
  afterImport: { heading: string; marker: unknown };
  /** After img/dot.png changed: the refetch's query, the image's width, the marker. */
  afterImage: { search: string; width: number; marker: unknown };
  /** After "img/a b.png" (a background in the imported sheet) changed: the refetch's query. */
  afterBackground: { path: string; search: string; marker: unknown };
  /** After index.html changed: the heading and the marker. */
  afterPage: { heading: string; marker: unknown };
  /** After the restart: page loads (one is the reload), the marker, and a later CSS change. */
  afterRestart: { loads: number; marker: unknown; colour: string; markerAfterCss: unknown };
  /** The page whose policy blocks connections: its text, and whether its streams are closed. */
  connectBlocked: { text: string; closed: boolean };
  /** The page whose policy blocks scripts: its text, the script tag, whether the script ran. */
  scriptBlocked: { text: string; tag: boolean; ran: boolean };
  /** Every console message of every page, as "type: text". */
  console: string[];
  /** Every uncaught error of every page. */
  pageErrors: string[];
}

/**
 * Watches one page's requests so that the driver can wait for the live
 * script's stream of the document now shown: a stream response that came
 * after the page's last navigation.
 */
class StreamWatch {
  #sequence = 0;
  #lastNavigation = 0;
  #lastStream = 0;
  readonly #numbers = new WeakMap<BrowserRequest, number>();
  readonly #waiters = new Set<() => void>();

  constructor(page: Page) {
    page.on("request", (request) => {
      const number = ++this.#sequence;
      this.#numbers.set(request, number);
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
        this.#lastNavigation = number;
      }
    });
    page.on("response", (response) => {
      if (new URL(response.url()).pathname !== LIVE_EVENTS_PATH || response.status() !== 200) {
        return;
      }
      this.#lastStream = Math.max(this.#lastStream, this.#numbers.get(response.request()) ?? 0);
      for (const wake of this.#waiters) wake();
    });
  }

  /** Resolves once the document now shown has its stream open; rejects after `ms`. */
  open(ms: number = BROWSER_DEADLINE_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.#lastStream <= this.#lastNavigation) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no ${LIVE_EVENTS_PATH} stream opened within ${ms} ms`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }
}

/** A request for `path` that carries the live script's cache-busting parameter. */
function bustedRequest(page: Page, path: string): Promise<BrowserRequest> {
  return page.waitForRequest((request) => {
    const url = new URL(request.url());
    return url.pathname === path && url.searchParams.has(BUST_PARAM);
  }, { timeout: BROWSER_DEADLINE_MS });
}

/** Evaluates a source expression in the page: the type checker has no DOM types. */
function read<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate<T>(expression);
}

const BODY_COLOUR = "getComputedStyle(document.body).color";
const HEADING_COLOUR = "getComputedStyle(document.getElementById('heading')).color";
const HEADING_TEXT = "document.getElementById('heading').textContent";
/** The marker a reload loses; null once it is gone (JSON has no undefined). */
const MARKER = "window.__marker ?? null";

/** How often a wait for a condition in the page checks it. */
const POLL_MS = 5;

/**
 * Waits until `expression` is true in the page. It polls on a timer, not on
 * animation frames, which a page in the background does not get.
 */
async function until(page: Page, expression: string, ms = BROWSER_DEADLINE_MS): Promise<void> {
  await page.waitForFunction(expression, undefined, { timeout: ms, polling: POLL_MS });
}

/**
 * Checks a–d on index.html: stylesheets (timed), an imported sheet, an
 * image, a background, the page itself and the restart.
 */
async function driveIndex(
  page: Page,
  url: string,
  root: string,
): Promise<Omit<DriverReport, "connectBlocked" | "scriptBlocked" | "console" | "pageErrors">> {
  const stream = new StreamWatch(page);
  await page.goto(url, { waitUntil: "load" });
  await stream.open();

  // State a reload would lose; typed first, since typing scrolls the input into view.
  await page.fill("#field", "typed text");
  await page.evaluate("window.scrollTo(0, 1200); window.__marker = 1");
  // Records the body colour at each change of the head's links: a page left
  // without its stylesheet, even for a moment, would show the unstyled colour.
  await page.evaluate(`window.__colours = [];
    new MutationObserver(() => window.__colours.push(${BODY_COLOUR}))
      .observe(document.head, { childList: true });`);

  // a. The stylesheet, timed from writing the file to the page showing it.
  const cssApplyMs: number[] = [];
  for (let round = 0; round < CSS_ROUNDS; round++) {
    const colour = COLOURS[round % 2];
    const start = performance.now();
    await Deno.writeTextFile(join(root, "style.css"), styleCss(colour));
    await until(page, `${BODY_COLOUR} === ${JSON.stringify(colour)}`);
    cssApplyMs.push(Math.round(performance.now() - start));
  }
  // The replaced links are gone once their successors have loaded.
  await until(page, "document.querySelectorAll('link[rel=stylesheet]').length === 1");
  const afterCss = await read<DriverReport["afterCss"]>(
    page,
    `({ marker: ${MARKER}, scrollY: window.scrollY,
      field: document.getElementById('field').value,
      links: document.querySelectorAll('link[rel=stylesheet]').length })`,
  );
  const coloursWhileSwapping = await read<string[]>(page, "window.__colours");

  // An imported sheet is fetched again with the sheet that imports it.
  const heading = "rgb(0, 120, 120)";
  await Deno.writeTextFile(join(root, "parts.css"), partsCss(heading));
  await until(page, `${HEADING_COLOUR} === ${JSON.stringify(heading)}`);
  const afterImport = {
    heading: await read<string>(page, HEADING_COLOUR),
    marker: await read<unknown>(page, MARKER),
  };

  // b. An image: fetched again under a new URL, and shown with its new bytes.
  const dotRequest = bustedRequest(page, "/img/dot.png");
  await Deno.writeFile(join(root, "img", "dot.png"), decodeBase64(WIDE_PNG));
  const dotUrl = new URL((await dotRequest).url());
  const dot = "document.getElementById('dot')";
  await until(page, `${dot}.complete && ${dot}.naturalWidth === 2`);
  const afterImage = {
    search: dotUrl.search,
    width: await read<number>(page, `${dot}.naturalWidth`),
    marker: await read<unknown>(page, MARKER),
  };
  // A background image, named in the imported sheet, with a space in its name.
  const backgroundRequest = bustedRequest(page, "/img/a%20b.png");
  await Deno.writeFile(join(root, "img", "a b.png"), decodeBase64(WIDE_PNG));
  const backgroundUrl = new URL((await backgroundRequest).url());
  const afterBackground = {
    path: backgroundUrl.pathname,
    search: backgroundUrl.search,
    marker: await read<unknown>(page, MARKER),
  };

  // c. The page itself: it reloads and shows the new text.
  let loaded = page.waitForEvent("load", { timeout: BROWSER_DEADLINE_MS });
  await Deno.writeTextFile(join(root, "index.html"), indexHtml(SECOND_HEADING));
  await loaded;
  await stream.open();
  const afterPage = {
    heading: await read<string>(page, HEADING_TEXT),
    marker: await read<unknown>(page, MARKER),
  };

  // d. The restart, done by the test when it reads the line: the page reloads once.
  await page.evaluate("window.__marker = 2");
  let loads = 0;
  const countLoad = () => loads++;
  page.on("load", countLoad);
  loaded = page.waitForEvent("load", { timeout: RESTART_DEADLINE_MS });
  console.log(RESTART_LINE);
  await loaded;
  await stream.open(RESTART_DEADLINE_MS);
  const marker = await read<unknown>(page, MARKER);
  // The new page hears the new server: a stylesheet change applies, with no reload.
  await page.evaluate("window.__marker = 3");
  await Deno.writeTextFile(join(root, "style.css"), styleCss(FIRST_COLOUR));
  await until(page, `${BODY_COLOUR} === ${JSON.stringify(FIRST_COLOUR)}`);
  page.off("load", countLoad);
  const afterRestart = {
    loads,
    marker,
    colour: await read<string>(page, BODY_COLOUR),
    markerAfterCss: await read<unknown>(page, MARKER),
  };

  return {
    cssApplyMs,
    afterCss,
    coloursWhileSwapping,
    afterImport,
    afterImage,
    afterBackground,
    afterPage,
    afterRestart,
  };
}

/**
 * Check e, the page whose policy blocks the stream: it keeps its text and
 * says why live reload is off. Its EventSources are recorded (an init
 * script, on this page alone) to show none is left to try again: no
 * second message can follow.
 */
async function driveConnectBlocked(
  page: Page,
  url: string,
): Promise<DriverReport["connectBlocked"]> {
  await page.addInitScript(`window.__sources = [];
    window.EventSource = class extends EventSource {
      constructor(...args) { super(...args); window.__sources.push(this); }
    };`);
  const warned = page.waitForEvent("console", {
    predicate: (message) => message.text().includes("Content-Security-Policy"),
    timeout: BROWSER_DEADLINE_MS,
  });
  await page.goto(new URL("/connect.html", url).href, { waitUntil: "load" });
  await warned;
  await until(page, "__sources.length > 0 && __sources.every((s) => s.readyState === 2)");
  return {
    text: await read<string>(page, "document.getElementById('text').textContent"),
    closed: await read<boolean>(page, "__sources.every((s) => s.readyState === 2)"),
  };
}

/** Check e, the page whose policy blocks scripts: it keeps its text; the script never ran. */
async function driveScriptBlocked(page: Page, url: string): Promise<DriverReport["scriptBlocked"]> {
  await page.goto(new URL("/noscript.html", url).href, { waitUntil: "load" });
  return {
    text: await read<string>(page, "document.getElementById('text').textContent"),
    tag: await read<boolean>(
      page,
      `document.querySelector('script[src="${LIVE_SCRIPT_PATH}"]') !== null`,
    ),
    ran: await read<boolean>(page, "window[Symbol.for('portico.live')] === true"),
  };
}

/** Runs every check in one browser and reports what it saw. */
async function drive(url: string, root: string): Promise<DriverReport> {
  // deno-lint-ignore no-import-prefix
  const { chromium } = await import("npm:playwright-core@1.65.2");
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS],
    timeout: BROWSER_DEADLINE_MS,
  });
  try {
    const messages: string[] = [];
    const pageErrors: string[] = [];
    const open = async () => {
      const page = await browser.newPage();
      page.setDefaultTimeout(BROWSER_DEADLINE_MS);
      page.on("console", (message) => messages.push(`${message.type()}: ${message.text()}`));
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      return page;
    };
    const index = await driveIndex(await open(), url, root);
    const connectBlocked = await driveConnectBlocked(await open(), url);
    const scriptBlocked = await driveScriptBlocked(await open(), url);
    return { ...index, connectBlocked, scriptBlocked, console: messages, pageErrors };
  } finally {
    await browser.close();
  }
}

// --- The test -----------------------------------------------------------

/** A running `main.ts --dev` and its port. */
interface DevMain {
  program: Spawned;
  url: string;
  port: number;
}

/**
 * Starts main.ts as the serve task does, in development mode on `root`, on
 * 127.0.0.1 and `port` (0: one the system picks). Call `program.stop()` in
 * a `finally`.
 */
async function startDev(root: string, port: number): Promise<DevMain> {
  const program = spawnDeno([
    ...serveTaskArgs(),
    MAIN,
    ...["--dev", "--quiet", "--root", root, "--host", "127.0.0.1", "--port", String(port)],
  ]);
  try {
    const listening = await program.waitFor(LISTENING_URL);
    return { program, url: listening[0], port: Number(listening[1]) };
  } catch (error) {
    await program.stop("SIGKILL");
    throw error;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

Deno.test({
  name: named(
    "main.ts --dev updates Chromium's page as its files change, and reloads it on a restart",
    NO_CHROMIUM,
  ),
  ignore: NO_CHROMIUM !== null,
  fn: async () => {
    const root = await makeRoot();
    let main: DevMain | null = null;
    let driver: Spawned | null = null;
    let stopped: Stopped;
    /** How each run of main.ts ended. */
    const exits: Stopped[] = [];
    try {
      main = await startDev(root, 0);
      // --no-lock: the lock is the test runner's (it has playwright-core from the
      // type import); a second writer could only race it.
      driver = spawnDeno(["run", "-A", "--no-lock", fromFileUrl(import.meta.url), main.url, root]);
      await driver.waitFor(new RegExp(`^${RESTART_LINE}$`, "m"), DRIVER_DEADLINE_MS);
      const { port } = main;
      exits.push(await main.program.stop());
      main = null;
      main = await startDev(root, port);
      stopped = await driver.exited(DRIVER_DEADLINE_MS);
    } finally {
      // SIGTERM first when it is still running: Playwright closes the browser on it.
      await driver?.stop();
      if (main !== null) exits.push(await main.program.stop());
      await Deno.remove(root, { recursive: true });
    }
    assertEquals(stopped.status.code, 0, stopped.stderr);
    for (const { status, stderr } of exits) assertEquals(status.code, 0, stderr);
    const report: DriverReport = JSON.parse(stopped.stdout.trim().split("\n").at(-1)!);

    // a. Each stylesheet change showed within the limit, without a reload.
    assertEquals(report.cssApplyMs.length, CSS_ROUNDS);
    for (const ms of report.cssApplyMs) {
      assert(ms < CSS_APPLY_LIMIT_MS, `a stylesheet change took ${ms} ms to show`);
    }
    console.log(
      `median time from writing style.css to the page showing it: ${
        median(report.cssApplyMs)
      } ms (${report.cssApplyMs.join(", ")})`,
    );
    assertEquals(report.afterCss, { marker: 1, scrollY: 1200, field: "typed text", links: 1 });
    // Every swap changed the head's links; the page had its styles throughout.
    assert(
      !report.coloursWhileSwapping.includes(UNSTYLED_COLOUR),
      `unstyled while swapping: ${report.coloursWhileSwapping.join(", ")}`,
    );
    // The observer did see the swaps (each adds a link, and later removes one).
    assert(report.coloursWhileSwapping.length >= CSS_ROUNDS, "the swaps were observed");
    assertEquals(report.afterImport, { heading: "rgb(0, 120, 120)", marker: 1 });

    // b. The images were fetched again under new URLs, without a reload.
    assertStringIncludes(report.afterImage.search, `${BUST_PARAM}=`);
    assertEquals(report.afterImage.width, 2);
    assertEquals(report.afterImage.marker, 1);
    assertEquals(report.afterBackground.path, "/img/a%20b.png");
    assertStringIncludes(report.afterBackground.search, `${BUST_PARAM}=`);
    assertEquals(report.afterBackground.marker, 1);

    // c. A changed page reloads with its new text.
    assertEquals(report.afterPage, { heading: SECOND_HEADING, marker: null });

    // d. The restart reloaded the page once, and the new page hears the new server.
    assertEquals(report.afterRestart, {
      loads: 1,
      marker: null,
      colour: FIRST_COLOUR,
      markerAfterCss: 3,
    });

    // e. A policy that blocks the stream: the page works and says why, once.
    assertEquals(report.connectBlocked, { text: CONNECT_BLOCKED_TEXT, closed: true });
    const warnings = report.console.filter((line) => line.includes("Content-Security-Policy"));
    assertEquals(warnings.length, 1, report.console.join("\n"));
    assertStringIncludes(warnings[0], "warning: Portico live reload is off");
    assertStringIncludes(warnings[0], LIVE_EVENTS_PATH);
    // A policy that blocks scripts: the page works; the script was named but never ran.
    assertEquals(report.scriptBlocked, { text: SCRIPT_BLOCKED_TEXT, tag: true, ran: false });
    assertEquals(report.pageErrors, []);
  },
});

// Run as a program (by the test above), this file drives Chromium and prints
// its report as JSON on its last line; under `deno test` this does not run.
if (import.meta.main) {
  console.log(JSON.stringify(await drive(Deno.args[0], Deno.args[1])));
}
