/**
 * CORS in a real browser: a page served by `Deno.serve` on one port
 * (origin `http://127.0.0.1:A`) fetches from `serve()` on other ports
 * (`http://127.0.0.1:B`, a temporary root with `data.json` and an
 * application that echoes what it was sent), and Chromium decides what the
 * page may read. Each Portico has its own rules: one allows the page's
 * origin (methods GET and PUT, the field `x-custom`), one has no CORS rule,
 * one allows only another origin (the same port under the name
 * `localhost`), one allows the page's origin with credentials.
 *
 * Every refusal is checked from both sides: the page sees a `TypeError`,
 * Chromium's console says the CORS policy blocked it, and the server's
 * access log or application shows the request arrived (so nothing failed
 * on the network). A request that needs a preflight is checked the same
 * way: an `OPTIONS` answered before it, and nothing sent when the
 * preflight refuses.
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
import { assert, assertEquals, assertStringIncludes, fromFileUrl, join } from "../_deps.ts";
import { CHROMIUM, CHROMIUM_ARGS, named, NO_CHROMIUM } from "../_chromium.ts";
import { recordingLogger } from "../_helpers.ts";
import { spawnDeno, type Spawned, type Stopped } from "../main/_process.ts";
import { type Handler, serve, type SiteServer } from "../../lib/mod.ts";

/** How long each wait in the browser may take: only a safety net. */
const BROWSER_DEADLINE_MS = 10_000;

/** How long the driver may take in all (it may fetch playwright-core on a first run). */
const DRIVER_DEADLINE_MS = 90_000;

/** The file every Portico serves. */
const DATA_JSON = '{"answer":42}\n';

/** A path with no file, answered by the application. */
const ECHO_PATH = "/echo";

/** The cookie the page's own server sets; cookies are not kept apart by port. */
const COOKIE = "session=from-the-page";

/** The value of the non-safelisted field the page sends, which needs a preflight. */
const CUSTOM = "from the page";

/**
 * The page: `probe(url, init)` fetches and reports whether the page could
 * read the answer, or the error it got.
 */
const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>CORS probe</title>
<link rel="icon" href="data:,">
</head>
<body>
<script>
window.probe = async (url, init) => {
  try {
    const response = await fetch(url, init);
    return { read: true, status: response.status, body: await response.text() };
  } catch (error) {
    return { read: false, error: error.name + ": " + error.message };
  }
};
</script>
</body>
</html>
`;

/** What the page's `fetch()` gives when the browser withholds the answer. */
const BLOCKED = "TypeError: Failed to fetch";

// --- The driver ---------------------------------------------------------

/** The parts of `RequestInit` a probe uses: they must survive JSON. */
interface ProbeInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly credentials?: "include" | "omit" | "same-origin";
}

/** One `fetch()` the page makes. */
interface Probe {
  /** Names the probe in the report. */
  readonly name: string;
  /** A URL no other probe uses, so console messages can be told apart. */
  readonly url: string;
  readonly init: ProbeInit;
}

/** What the page's `fetch()` gave. */
type Outcome =
  | { read: true; status: number; body: string }
  | { read: false; error: string };

/** What one probe did in the page, and why Chromium blocked it, when it did. */
interface ProbeReport {
  outcome: Outcome;
  /** Chromium's console message naming the probe's URL and the CORS policy, or null. */
  blocked: string | null;
}

/** What the driver saw, printed as JSON on its last line. */
interface DriverReport {
  /** The page's `location.origin`. */
  origin: string;
  /** Each probe's report, by name. */
  probes: Record<string, ProbeReport>;
  /** Uncaught errors in the page. */
  pageErrors: string[];
}

/** Evaluates a source expression in the page: the type checker has no DOM types. */
function read<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate<T>(expression);
}

/**
 * Runs one probe in the page. The wait for Chromium's console message
 * starts before the fetch, so the message cannot be missed; it is awaited
 * only when the fetch failed.
 */
async function runProbe(page: Page, probe: Probe): Promise<ProbeReport> {
  const message = page.waitForEvent("console", {
    predicate: (m) => m.text().includes(probe.url) && m.text().includes("CORS policy"),
    timeout: BROWSER_DEADLINE_MS,
  });
  // A probe that succeeds leaves the wait to end with the page.
  message.catch(() => {});
  const outcome = await read<Outcome>(
    page,
    `probe(${JSON.stringify(probe.url)}, ${JSON.stringify(probe.init)})`,
  );
  const blocked = outcome.read ? null : (await message).text();
  return { outcome, blocked };
}

/** Starts Chromium, opens the page and runs the probes one after another. */
async function drive(pageUrl: string, probes: readonly Probe[]): Promise<DriverReport> {
  // deno-lint-ignore no-import-prefix
  const { chromium } = await import("npm:playwright-core@1.65.2");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS],
    timeout: BROWSER_DEADLINE_MS,
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(BROWSER_DEADLINE_MS);
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    await page.goto(pageUrl, { waitUntil: "load" });
    const origin = await read<string>(page, "location.origin");
    const reports: Record<string, ProbeReport> = {};
    for (const probe of probes) reports[probe.name] = await runProbe(page, probe);
    return { origin, probes: reports, pageErrors };
  } finally {
    await browser.close();
  }
}

// --- The servers --------------------------------------------------------

/** What the application was sent, as it answers it. */
interface Echo {
  method: string;
  target: string;
  custom: string | null;
  cookie: string | null;
}

/** A running Portico, with what its access log and application saw. */
interface Portico {
  readonly server: SiteServer;
  readonly base: string;
  /** The access log: `METHOD target status bytes`. */
  readonly log: string[];
  /** Every request the application answered. */
  readonly seen: Echo[];
}

/** An application that answers with (and remembers) what it was sent. */
function echoApp(seen: Echo[]): Handler {
  return (request) => {
    const url = new URL(request.url);
    const echo = {
      method: request.method,
      target: url.pathname + url.search,
      custom: request.headers.get("x-custom"),
      cookie: request.headers.get("cookie"),
    };
    seen.push(echo);
    return Response.json(echo);
  };
}

/** Starts `serve()` on `root` with these CORS rules (none when undefined) and the echo app. */
function startPortico(root: string, cors: readonly unknown[] | undefined): Portico {
  const logger = recordingLogger();
  const seen: Echo[] = [];
  const server = serve({
    root,
    site: cors === undefined ? {} : { cors },
    handler: echoApp(seen),
    port: 0,
    hostname: "127.0.0.1",
    logger,
    onListen: () => {},
  });
  return { server, base: `http://127.0.0.1:${server.addr.port}`, log: logger.lines, seen };
}

/** Serves the page at `/`, setting {@linkcode COOKIE}, and 404 for anything else. */
function servePage(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    if (new URL(request.url).pathname !== "/") return new Response("Not found", { status: 404 });
    return new Response(PAGE_HTML, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "set-cookie": `${COOKIE}; Path=/; SameSite=Lax`,
      },
    });
  });
}

/** The Porticos of the test, by the rule each one has. */
interface Porticos {
  /** The page's origin, GET and PUT, `x-custom`; no credentials. */
  readonly allowed: Portico;
  /** No CORS rule. */
  readonly none: Portico;
  /** Only `http://localhost:A`: the page's port under another name. */
  readonly other: Portico;
  /** The page's origin, with credentials. */
  readonly credentials: Portico;
}

/** Starts the Porticos one by one into `started`, so that a failure leaves none behind. */
function startPorticos(root: string, pageOrigin: string, started: Portico[]): Porticos {
  const start = (cors: readonly unknown[] | undefined) => {
    const portico = startPortico(root, cors);
    started.push(portico);
    return portico;
  };
  const otherOrigin = pageOrigin.replace("127.0.0.1", "localhost");
  return {
    allowed: start([
      { path: "/*", origins: [pageOrigin], methods: ["GET", "PUT"], headers: ["x-custom"] },
    ]),
    none: start(undefined),
    other: start([{ path: "/*", origins: [otherOrigin] }]),
    credentials: start([{ path: "/*", origins: [pageOrigin], credentials: true }]),
  };
}

/** The probes, in the order the page runs them. */
function probesFor(p: Porticos): Probe[] {
  const put = { method: "PUT", headers: { "x-custom": CUSTOM } };
  return [
    { name: "simple", url: `${p.allowed.base}/data.json`, init: {} },
    { name: "preflighted", url: `${p.allowed.base}/data.json?probe=put`, init: put },
    {
      name: "unlistedField",
      url: `${p.allowed.base}/data.json?probe=unlisted`,
      init: { method: "PUT", headers: { "x-other": "1" } },
    },
    { name: "noRule", url: `${p.none.base}/data.json`, init: {} },
    { name: "otherOrigin", url: `${p.other.base}/data.json`, init: {} },
    { name: "otherOriginPut", url: `${p.other.base}/data.json?probe=put`, init: put },
    { name: "withoutCookies", url: `${p.allowed.base}${ECHO_PATH}?probe=plain`, init: {} },
    {
      name: "credentials",
      url: `${p.credentials.base}${ECHO_PATH}`,
      init: { credentials: "include" },
    },
    {
      name: "credentialsRefused",
      url: `${p.allowed.base}${ECHO_PATH}?probe=credentials`,
      init: { credentials: "include" },
    },
  ];
}

// --- The test -----------------------------------------------------------

/** Asserts that the page could read the answer, and returns its body. */
function readBody(report: ProbeReport, label: string): string {
  const { outcome } = report;
  assert(outcome.read, `${label}: the page could not read the answer: ${JSON.stringify(report)}`);
  assertEquals(outcome.status, 200, label);
  assertEquals(report.blocked, null, label);
  return outcome.body;
}

/** Asserts that Chromium withheld the answer for a CORS reason that says `reason`. */
function assertBlocked(report: ProbeReport, reason: string, label: string): void {
  assertEquals(report.outcome, { read: false, error: BLOCKED }, label);
  assert(report.blocked !== null, label);
  assertStringIncludes(report.blocked, "blocked by CORS policy", label);
  assertStringIncludes(report.blocked, reason, label);
}

/** The access-log lines of requests to `target`, without their byte counts. */
function logged(portico: Portico, target: string): string[] {
  return portico.log
    .map((line) => line.split(" "))
    .filter(([, logTarget]) => logTarget === target)
    .map(([method, , status]) => `${method} ${status}`);
}

Deno.test({
  name: named(
    "serve() with cors rules lets Chromium's page read what they allow, and nothing else",
    NO_CHROMIUM,
  ),
  ignore: NO_CHROMIUM !== null,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "portico_cors_browser_" });
    await Deno.writeTextFile(join(root, "data.json"), DATA_JSON);
    const page = servePage();
    const pageOrigin = `http://127.0.0.1:${page.addr.port}`;
    const started: Portico[] = [];
    let driver: Spawned | null = null;
    let stopped: Stopped;
    let p: Porticos;
    try {
      p = startPorticos(root, pageOrigin, started);
      const probes = JSON.stringify(probesFor(p));
      // --no-lock: the lock is the test runner's; a second writer could only race it.
      driver = spawnDeno([
        "run",
        "-A",
        "--no-lock",
        fromFileUrl(import.meta.url),
        `${pageOrigin}/`,
        probes,
      ]);
      stopped = await driver.exited(DRIVER_DEADLINE_MS);
    } finally {
      await driver?.stop();
      // Shut down before the logs are read: every answer has been logged by then.
      for (const portico of started) await portico.server.shutdown();
      await page.shutdown();
      await Deno.remove(root, { recursive: true });
    }
    assertEquals(stopped.status.code, 0, stopped.stderr);
    const report: DriverReport = JSON.parse(stopped.stdout.trim().split("\n").at(-1)!);
    const probe = report.probes;
    assertEquals(report.origin, pageOrigin);
    assertEquals(report.pageErrors, []);

    // 1. An allowed origin reads a file, and a PUT with its field after a preflight.
    assertEquals(readBody(probe.simple, "simple"), DATA_JSON);
    assertEquals(JSON.parse(readBody(probe.preflighted, "preflighted")), {
      method: "PUT",
      target: "/data.json?probe=put",
      custom: CUSTOM,
      cookie: null,
    });
    assertEquals(logged(p.allowed, "/data.json?probe=put"), ["OPTIONS 204", "PUT 200"]);
    // A field the rule does not list: the preflight refuses (204 without any Allow
    // field), and the PUT is never sent.
    assertBlocked(probe.unlistedField, "preflight response", "unlistedField");
    assertEquals(logged(p.allowed, "/data.json?probe=unlisted"), ["OPTIONS 204"]);

    // 2. Without a rule the file is sent, but the page may not read it.
    assertBlocked(probe.noRule, "Access-Control-Allow-Origin", "noRule");
    assertEquals(logged(p.none, "/data.json"), ["GET 200"]);

    // 3. A rule for another origin: the same, and its preflight refuses a PUT.
    assertBlocked(probe.otherOrigin, "Access-Control-Allow-Origin", "otherOrigin");
    assertEquals(logged(p.other, "/data.json"), ["GET 200"]);
    assertBlocked(probe.otherOriginPut, "preflight", "otherOriginPut");
    assertEquals(logged(p.other, "/data.json?probe=put"), ["OPTIONS 204"]);

    // 4. Credentials: the page's cookie goes only with "include", and the answer
    // is readable only where the rule allows credentials.
    assertEquals(JSON.parse(readBody(probe.withoutCookies, "withoutCookies")).cookie, null);
    assertEquals(JSON.parse(readBody(probe.credentials, "credentials")), {
      method: "GET",
      target: ECHO_PATH,
      custom: null,
      cookie: COOKIE,
    });
    assertBlocked(
      probe.credentialsRefused,
      "Access-Control-Allow-Credentials",
      "credentialsRefused",
    );
    // The request went out with the cookie; only the answer was withheld.
    assertEquals(p.allowed.seen.at(-1), {
      method: "GET",
      target: `${ECHO_PATH}?probe=credentials`,
      custom: null,
      cookie: COOKIE,
    });

    // Preflights are answered by the rules alone: the applications never saw an OPTIONS.
    for (const portico of started) {
      assert(portico.seen.every((echo) => echo.method !== "OPTIONS"), portico.base);
    }
  },
});

// Run as a program (by the test above), this file drives Chromium and prints
// its report as JSON on its last line; under `deno test` this does not run.
if (import.meta.main) {
  console.log(JSON.stringify(await drive(Deno.args[0], JSON.parse(Deno.args[1]))));
}
