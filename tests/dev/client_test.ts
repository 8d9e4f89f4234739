/**
 * The live-reload script without a browser: it must parse, and its handling
 * of the stream (reload, restart, a stream closed for good, a blocking
 * Content-Security-Policy) is run against a stand-in page whose
 * `EventSource`, `document` and `location` record what the script does.
 * What needs a real page (stylesheets, images, scrolling) is in
 * browser_test.ts.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "../_deps.ts";
import { LIVE_SCRIPT } from "../../lib/dev/client.ts";
import { LIVE_CHANGE_EVENT, LIVE_EVENTS_PATH, LIVE_SCRIPT_PATH } from "../../lib/dev/paths.ts";

const ORIGIN = "http://127.0.0.1:8080";

/** An `EventSource` that connects nowhere: the test fires its events. */
class StandInSource extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readyState = StandInSource.CONNECTING;
  constructor(readonly url: string) {
    super();
  }
  close(): void {
    this.readyState = StandInSource.CLOSED;
  }
  /** Fires `type` with the ready state it implies. */
  fire(type: "open" | "error", readyState: number): void {
    this.readyState = readyState;
    this.dispatchEvent(new Event(type));
  }
}

/** What the script did to a stand-in page. */
interface StandInPage {
  /** Every EventSource it opened. */
  sources: StandInSource[];
  /** How often it called `location.reload()`. */
  reloads: number;
  /** What it wrote to the console, as "method: text". */
  console: string[];
  document: EventTarget;
}

/** Runs the script `times` times in one stand-in page with no elements. */
function runInPage(times = 1): StandInPage {
  const page: StandInPage = { sources: [], reloads: 0, console: [], document: new EventTarget() };
  const document = Object.assign(page.document, {
    currentScript: { src: `${ORIGIN}${LIVE_SCRIPT_PATH}` },
    baseURI: `${ORIGIN}/`,
    styleSheets: [],
    querySelectorAll: () => [],
  });
  const EventSource = class extends StandInSource {
    constructor(url: string) {
      super(url);
      page.sources.push(this);
    }
  };
  const record = (method: string) => (...args: unknown[]) =>
    page.console.push(`${method}: ${args.join(" ")}`);
  const console = { warn: record("warn"), debug: record("debug"), error: record("error") };
  const location = { href: `${ORIGIN}/`, reload: () => page.reloads++ };
  const window = {};
  const script = new Function(
    "window",
    "document",
    "location",
    "EventSource",
    "console",
    LIVE_SCRIPT,
  );
  for (let i = 0; i < times; i++) script(window, document, location, EventSource, console);
  return page;
}

/** The page's one stream. */
function onlySource(page: StandInPage): StandInSource {
  assertEquals(page.sources.length, 1);
  return page.sources[0];
}

/** A change event as the server sends it. */
function change(data: string): MessageEvent {
  return new MessageEvent(LIVE_CHANGE_EVENT, { data });
}

Deno.test("LIVE_SCRIPT parses as a classic script and names the paths and event it uses", () => {
  new Function(LIVE_SCRIPT);
  assertStringIncludes(LIVE_SCRIPT, JSON.stringify(LIVE_EVENTS_PATH));
  assertStringIncludes(LIVE_SCRIPT, JSON.stringify(LIVE_CHANGE_EVENT));
  assertStringIncludes(LIVE_SCRIPT, '"use strict"');
});

Deno.test("LIVE_SCRIPT opens one stream at the events path, even when loaded twice", () => {
  const page = runInPage(2);
  assertEquals(onlySource(page).url, `${ORIGIN}${LIVE_EVENTS_PATH}`);
  assertEquals(page.console, []);
});

Deno.test("LIVE_SCRIPT reloads when a change asks it to, and ignores data it cannot read", () => {
  const page = runInPage();
  const source = onlySource(page);
  source.fire("open", StandInSource.OPEN);
  for (const data of ["not JSON", "null", "[]", '{"reload": "yes"}']) {
    source.dispatchEvent(change(data));
  }
  assertEquals(page.reloads, 0);
  source.dispatchEvent(change('{"reload": true, "css": [], "images": []}'));
  assertEquals(page.reloads, 1);
  assertEquals(page.console, []);
});

Deno.test("LIVE_SCRIPT reloads once when its stream opens again after an error", () => {
  const page = runInPage();
  const source = onlySource(page);
  // Failing before it ever opened is not a restart: the server was not there yet.
  source.fire("error", StandInSource.CONNECTING);
  source.fire("open", StandInSource.OPEN);
  assertEquals(page.reloads, 0);
  source.fire("error", StandInSource.CONNECTING);
  source.fire("error", StandInSource.CONNECTING);
  assertEquals(page.reloads, 0);
  source.fire("open", StandInSource.OPEN);
  assertEquals(page.reloads, 1);
  assertEquals(source.readyState, StandInSource.CLOSED);
});

Deno.test("LIVE_SCRIPT stops quietly when its stream is closed for good", () => {
  const page = runInPage();
  const source = onlySource(page);
  source.fire("open", StandInSource.OPEN);
  source.fire("error", StandInSource.CLOSED);
  assertEquals(page.reloads, 0);
  assertEquals(page.console, []);
  assertEquals(page.sources.length, 1);
});

Deno.test("LIVE_SCRIPT warns once when an enforced policy (CSP) blocks its stream", () => {
  const page = runInPage();
  const violation = (blockedURI: string, disposition: string) =>
    page.document.dispatchEvent(
      Object.assign(new Event("securitypolicyviolation"), { blockedURI, disposition }),
    );
  violation(`${ORIGIN}${LIVE_EVENTS_PATH}`, "report");
  violation(`${ORIGIN}/api/data`, "enforce");
  assertEquals(page.console, []);
  violation(`${ORIGIN}${LIVE_EVENTS_PATH}`, "enforce");
  violation(`${ORIGIN}${LIVE_EVENTS_PATH}`, "enforce");
  assertEquals(page.console, [
    "warn: Portico live reload is off: this page's Content-Security-Policy (connect-src) " +
    `blocks ${ORIGIN}${LIVE_EVENTS_PATH}`,
  ]);
  assertEquals(onlySource(page).readyState, StandInSource.CLOSED);
});
