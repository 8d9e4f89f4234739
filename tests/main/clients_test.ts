/**
 * Real clients against the running program: curl, wget and Chromium ask
 * main.ts for the default site with the codings they support, and what they
 * decode must be the files on disk, byte for byte. The header fields they
 * saw (Content-Encoding, Vary, ETag, Cache-Control) are checked as each
 * client reports them, so a coding a client cannot decode, a missing Vary or
 * a HEAD that disagrees with its GET shows up as it would in the field.
 *
 * Each test is ignored when its client is not installed; `.ci/run` installs
 * curl, wget and Chromium so that CI runs them all.
 */

// Full specifier, as in ../_deps.ts: test libraries stay out of the import map.
// A type import only: the module itself is loaded by driveChromium() alone.
// deno-lint-ignore no-import-prefix
import type { Response as BrowserResponse } from "npm:playwright-core@1.65.2";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  fromFileUrl,
  join,
} from "../_deps.ts";
import { CHROMIUM, CHROMIUM_ARGS, named, NO_CHROMIUM } from "../_chromium.ts";
import { REPO, spawnDeno, type Stopped } from "./_process.ts";
import { type RunningMain, withMain } from "./_main.ts";

/** The default site, as main.ts serves it without --root. */
const WWW = join(REPO, "www");

/**
 * How long one run of curl or wget may take before it is killed: only a
 * safety net that turns a hang into a failure, generous for a loaded machine.
 */
const CLIENT_DEADLINE_MS = 15_000;

/** How long each step of driving Chromium (launch, load, close) may take. */
const BROWSER_DEADLINE_MS = 10_000;

/**
 * How long the process that drives Chromium may take in all: it loads
 * playwright-core (fetched from npm on a first run), starts the browser,
 * loads the page and closes the browser.
 */
const DRIVER_DEADLINE_MS = 60_000;

/** What running a client printed. */
interface ClientOutput {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/**
 * Runs `program` to its end with standard input closed; it is killed when
 * it has not finished within {@linkcode CLIENT_DEADLINE_MS}.
 */
async function runClient(program: string, args: readonly string[]): Promise<ClientOutput> {
  const output = await new Deno.Command(program, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CLIENT_DEADLINE_MS),
  }).output();
  return {
    code: output.code,
    stdout: output.stdout,
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Whether `program` runs at all, and what it printed for `args`; null when it is not installed. */
async function probe(program: string, args: readonly string[]): Promise<string | null> {
  try {
    const { code, stdout } = await runClient(program, args);
    return code === 0 ? new TextDecoder().decode(stdout) : null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

const curlVersion = await probe("curl", ["-V"]);
/** Whether this curl decodes zstd: `curl -V` lists it among its features (curl ≥ 7.72 built with libzstd). */
const curlHasZstd = curlVersion !== null &&
  /^Features:.*\bzstd\b/m.test(curlVersion);
/** wget 1.x learnt `--compression` in 1.19.2; wget2 has it too. Without it wget cannot decode. */
const wgetHelp = await probe("wget", ["--help"]);
const wgetDecodes = wgetHelp !== null && wgetHelp.includes("--compression");

const NO_CURL = curlVersion === null ? "curl is not installed" : null;
const NO_WGET = wgetDecodes ? null : "wget is not installed or has no --compression";

/** A response as curl wrote it with `-D -`: the head, then the body as curl decoded it. */
interface CurlResponse {
  statusLine: string;
  /** The header field lines in the order received. */
  fieldLines: string[];
  headers: Headers;
  body: Uint8Array;
}

const HEAD_END = new TextEncoder().encode("\r\n\r\n");

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/**
 * Runs `curl -s -D - ARGS URL` (`-q` first, so no ~/.curlrc takes part) and
 * splits what it wrote into the head and the body.
 */
async function curl(args: readonly string[], url: string): Promise<CurlResponse> {
  const { code, stdout, stderr } = await runClient("curl", [
    "-q",
    "-s",
    "-S",
    "--max-time",
    String(CLIENT_DEADLINE_MS / 1000),
    "-D",
    "-",
    ...args,
    url,
  ]);
  assertEquals(code, 0, `curl ${args.join(" ")} ${url} failed: ${stderr}`);
  const end = indexOfBytes(stdout, HEAD_END);
  assert(end >= 0, `curl wrote no complete head for ${url}`);
  const [statusLine, ...fieldLines] = new TextDecoder().decode(stdout.subarray(0, end)).split(
    "\r\n",
  );
  const headers = new Headers();
  for (const line of fieldLines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { statusLine, fieldLines, headers, body: stdout.subarray(end + HEAD_END.length) };
}

/** The entity tag's opaque part without the coding suffix, asserting the suffix is `coding`'s. */
function tagFor(etag: string | null, coding: string | null): string {
  assert(etag !== null, "no ETag");
  const suffix = coding === null ? "" : `-${coding}`;
  assertMatch(etag, /^"[^"]+"$/, "a strong entity tag");
  assert(etag.endsWith(`${suffix}"`), `${etag} should end with ${suffix}"`);
  return etag.slice(1, -1 - suffix.length);
}

/** A default-site file, the path that serves it and its Cache-Control. */
const SITE_FILES = [
  { path: "/", file: "index.html", cacheControl: "no-cache" },
  { path: "/style.css", file: "style.css", cacheControl: "public, max-age=300" },
] as const;

/**
 * What curl is asked for, and the coding Portico must pick. With
 * `--compressed` curl decodes whatever coding came; a custom Accept-Encoding
 * replaces the list it would send. The identity row comes first: the other
 * rows compare their entity tags with its one.
 */
const CURL_CODINGS: ReadonlyArray<{
  name: string;
  args: readonly string[];
  coding: "br" | "zstd" | "gzip" | null;
  ignore?: string;
}> = [
  { name: "no Accept-Encoding gets the file as it is", args: [], coding: null },
  // curl offers "deflate, gzip, br, zstd" (as far as it was built with them); br is preferred.
  { name: "--compressed gets br", args: ["--compressed"], coding: "br" },
  {
    name: "Accept-Encoding: br",
    args: ["--compressed", "-H", "Accept-Encoding: br"],
    coding: "br",
  },
  {
    name: "Accept-Encoding: zstd",
    args: ["--compressed", "-H", "Accept-Encoding: zstd"],
    coding: "zstd",
    ignore: curlHasZstd ? undefined : "curl -V lists no zstd feature",
  },
  {
    name: "Accept-Encoding: gzip",
    args: ["--compressed", "-H", "Accept-Encoding: gzip"],
    coding: "gzip",
  },
];

Deno.test({
  name: named("main.ts serves curl each coding it asks for, decoded to the bytes on disk", NO_CURL),
  ignore: NO_CURL !== null,
  fn: async (t) => {
    await withMain(["--quiet"], async ({ url }) => {
      for (const { path, file, cacheControl } of SITE_FILES) {
        const original = await Deno.readFile(join(WWW, file));
        let identityTag: string | null = null;
        for (const { name, args, coding, ignore } of CURL_CODINGS) {
          await t.step({
            name: named(`${path} ${name}`, ignore ?? null),
            ignore: ignore !== undefined,
            fn: async () => {
              const response = await curl(args, new URL(path, url).href);
              assertEquals(response.statusLine, "HTTP/1.1 200 OK");
              const { headers } = response;
              assertEquals(headers.get("content-encoding"), coding);
              assertEquals(headers.get("vary"), "Accept-Encoding");
              assertEquals(headers.get("cache-control"), cacheControl);
              // Each representation has its own tag: the identity one with the coding as suffix.
              const tag = tagFor(headers.get("etag"), coding);
              if (coding === null) identityTag = tag;
              else assertEquals(tag, identityTag, "the identity tag with the coding's suffix");
              // What travelled is smaller than the file; what curl decoded is the file.
              const length = Number(headers.get("content-length"));
              if (coding === null) assertEquals(length, original.length);
              else assert(length < original.length, `${coding}: ${length} bytes sent`);
              assertEquals(response.body, original);
            },
          });
        }
      }
    });
  },
});

Deno.test({
  name: named("main.ts answers curl's HEAD with the header fields of its GET", NO_CURL),
  ignore: NO_CURL !== null,
  fn: async () => {
    const withoutDate = (lines: string[]) => lines.filter((line) => !/^date:/i.test(line));
    await withMain(["--quiet"], async ({ url }) => {
      for (const { path } of SITE_FILES) {
        for (const coding of [[], ["--compressed"]]) {
          const target = new URL(path, url).href;
          const get = await curl([...coding, "-o", "/dev/null"], target);
          const head = await curl([...coding, "-I", "-o", "/dev/null"], target);
          assertEquals(head.statusLine, get.statusLine);
          assertEquals(withoutDate(head.fieldLines), withoutDate(get.fieldLines), target);
          assertEquals(head.body.length, 0);
        }
      }
    });
  },
});

/** A document root with a PNG and a hashed script that has a gzip sidecar. */
interface ClientRoot {
  dir: string;
  png: Uint8Array;
  script: Uint8Array;
  sidecar: Uint8Array;
}

/** When the root's files were last modified; the sidecar is newer, as a build step leaves it. */
const FILE_TIME = new Date("2026-01-01T00:00:00Z");
const SIDECAR_TIME = new Date("2026-01-01T00:01:00Z");

async function makeClientRoot(): Promise<ClientRoot> {
  const dir = await Deno.makeTempDir({ prefix: "portico_clients_" });
  // A PNG signature and 4 KiB of zeros: it would compress to almost nothing,
  // but images in compressed formats are never compressed again.
  const png = new Uint8Array(8 + 4096);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const script = new TextEncoder().encode(
    Array.from({ length: 64 }, (_, i) => `export const value${i} = ${i} * 2;\n`).join(""),
  );
  const sidecar = await gzip(script);
  // The gzip header's MTIME field (bytes 4-7) set: no compressor of the server
  // writes it, so a response with these bytes is the sidecar sent as it is.
  sidecar.set([0x80, 0x1e, 0x55, 0x69], 4);
  await Deno.writeFile(join(dir, "pixel.png"), png);
  await Deno.writeFile(join(dir, "app-3f9a2c1b.js"), script);
  await Deno.writeFile(join(dir, "app-3f9a2c1b.js.gz"), sidecar);
  await Deno.utime(join(dir, "pixel.png"), FILE_TIME, FILE_TIME);
  await Deno.utime(join(dir, "app-3f9a2c1b.js"), FILE_TIME, FILE_TIME);
  await Deno.utime(join(dir, "app-3f9a2c1b.js.gz"), SIDECAR_TIME, SIDECAR_TIME);
  return { dir, png, script, sidecar };
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Starts main.ts on a fresh {@linkcode ClientRoot}, runs `fn`, and removes the root. */
async function withClientRoot(
  fn: (main: RunningMain, root: ClientRoot) => Promise<void>,
): Promise<void> {
  const root = await makeClientRoot();
  try {
    await withMain(["--quiet", "--root", root.dir], (main) => fn(main, root));
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
}

Deno.test({
  name: named("main.ts sends curl a PNG unencoded and a precompressed sidecar as it is", NO_CURL),
  ignore: NO_CURL !== null,
  fn: async () => {
    await withClientRoot(async ({ url }, { png, script, sidecar }) => {
      const image = await curl(["--compressed"], new URL("/pixel.png", url).href);
      assertEquals(image.headers.get("content-encoding"), null);
      assertEquals(image.headers.get("content-type"), "image/png");
      tagFor(image.headers.get("etag"), null);
      assertEquals(image.headers.get("content-length"), String(png.length));
      assertEquals(image.body, png);

      const target = new URL("/app-3f9a2c1b.js", url).href;
      // Without --compressed curl writes the bytes as they came: the sidecar's.
      const raw = await curl(["-H", "Accept-Encoding: gzip"], target);
      assertEquals(raw.headers.get("content-encoding"), "gzip");
      assertEquals(raw.headers.get("vary"), "Accept-Encoding");
      assertEquals(raw.headers.get("cache-control"), "public, max-age=31536000, immutable");
      tagFor(raw.headers.get("etag"), "gzip");
      assertEquals(raw.body, sidecar);
      const decoded = await curl(["--compressed", "-H", "Accept-Encoding: gzip"], target);
      assertEquals(decoded.body, script);
      // There is no .br sidecar: br is made by the server, and decodes to the same script.
      const br = await curl(["--compressed", "-H", "Accept-Encoding: br"], target);
      assertEquals(br.headers.get("content-encoding"), "br");
      assertEquals(br.body, script);
    });
  },
});

Deno.test({
  name: named("main.ts serves wget gzip that it saves as the file's bytes", NO_WGET),
  ignore: NO_WGET !== null,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "portico_wget_" });
    try {
      await withMain(["--quiet"], async ({ url }) => {
        for (const { path, file } of SITE_FILES) {
          const saved = join(out, file);
          const { code, stderr } = await runClient("wget", [
            "--no-config",
            "--no-hsts",
            "--tries=1",
            `--timeout=${CLIENT_DEADLINE_MS / 1000}`,
            "-q",
            "-S",
            "-O",
            saved,
            "--header=Accept-Encoding: gzip",
            "--compression=auto",
            new URL(path, url).href,
          ]);
          assertEquals(code, 0, stderr);
          // -S prints the response head on standard error, each line indented.
          assertMatch(stderr, /^\s*content-encoding: gzip$/im);
          assertMatch(stderr, /^\s*vary: Accept-Encoding$/im);
          assertEquals(await Deno.readFile(saved), await Deno.readFile(join(WWW, file)));
        }
      });
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

/** What Chromium saw of one response, as {@linkcode driveChromium} reports it. */
interface SeenResponse {
  status: number;
  /** The request's header fields, as Chromium sent them. */
  sent: Record<string, string>;
  /** The response's header fields. */
  headers: Record<string, string>;
  /** The body as Chromium decoded it, in base64. */
  body: string;
}

/** What {@linkcode driveChromium} prints: the page as rendered, and the responses by path. */
interface PageReport {
  title: string;
  /** The body's computed background colour and margin. */
  style: { background: string; margin: string };
  responses: Record<string, SeenResponse>;
}

/**
 * Loads `url` in Chromium and reports what it fetched and rendered. It runs in
 * a process of its own (this file run as a program, see the end of the file):
 * playwright-core probes `/proc/sys` when it is loaded, which Deno allows only
 * with all permissions, and the test task does not run with them.
 */
async function driveChromium(url: string): Promise<PageReport> {
  // deno-lint-ignore no-import-prefix
  const { chromium } = await import("npm:playwright-core@1.65.2");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS],
    timeout: BROWSER_DEADLINE_MS,
  });
  try {
    const page = await browser.newPage({ colorScheme: "light" });
    page.setDefaultTimeout(BROWSER_DEADLINE_MS);
    const seen: BrowserResponse[] = [];
    page.on("response", (response) => seen.push(response));
    // "load" waits for the stylesheet too.
    await page.goto(url, { waitUntil: "load" });
    const responses: Record<string, SeenResponse> = {};
    for (const response of seen) {
      responses[new URL(response.url()).pathname] = {
        status: response.status(),
        sent: await response.request().allHeaders(),
        headers: await response.allHeaders(),
        body: (await response.body()).toString("base64"),
      };
    }
    // Source text, as it runs in the page: the type checker has no DOM types.
    const style = await page.evaluate<{ background: string; margin: string }>(
      "(({ backgroundColor, margin }) => ({ background: backgroundColor, margin }))" +
        "(getComputedStyle(document.body))",
    );
    return { title: await page.title(), style, responses };
  } finally {
    await browser.close();
  }
}

Deno.test({
  name: named("main.ts serves Chromium compressed HTML and CSS that render the page", NO_CHROMIUM),
  ignore: NO_CHROMIUM !== null,
  fn: async () => {
    const html = await Deno.readFile(join(WWW, "index.html"));
    const css = await Deno.readFile(join(WWW, "style.css"));
    const title = /<title>([^<]*)<\/title>/.exec(new TextDecoder().decode(html))?.[1];
    assert(title !== undefined, "index.html has a title");

    await withMain(["--quiet"], async ({ url }) => {
      // --no-lock: the lock is the test runner's (it has playwright-core from the
      // type import); a second writer could only race it.
      const driver = spawnDeno(["run", "-A", "--no-lock", fromFileUrl(import.meta.url), url]);
      let stopped: Stopped;
      try {
        stopped = await driver.exited(DRIVER_DEADLINE_MS);
      } finally {
        // Reaps it, with SIGTERM first when it is still running: Playwright closes the browser on it.
        await driver.stop();
      }
      assertEquals(stopped.status.code, 0, stopped.stderr);
      const report: PageReport = JSON.parse(stopped.stdout.trim().split("\n").at(-1)!);

      for (const [path, original] of [["/", html], ["/style.css", css]] as const) {
        const seen = report.responses[path];
        assert(seen !== undefined, `Chromium did not fetch ${path}`);
        assertEquals(seen.status, 200, path);
        assertStringIncludes(seen.sent["accept-encoding"] ?? "", "br");
        assertMatch(seen.headers["content-encoding"] ?? "", /^(br|zstd|gzip)$/, path);
        assertEquals(seen.headers["vary"], "Accept-Encoding");
        const length = Number(seen.headers["content-length"]);
        assert(length < original.length, `${path}: ${length} bytes sent`);
        // What Chromium decoded is the file.
        assertEquals(Uint8Array.from(atob(seen.body), (c) => c.charCodeAt(0)), original, path);
      }
      assertEquals(report.title, title);
      // The stylesheet applied: --bg of the light scheme (#f8fafc), and no body margin.
      assertEquals(report.style, { background: "rgb(248, 250, 252)", margin: "0px" });
    });
  },
});

// Run as a program (by the test above), this file drives Chromium and prints
// its report as JSON; under `deno test` this does not run.
if (import.meta.main) {
  console.log(JSON.stringify(await driveChromium(Deno.args[0])));
}
