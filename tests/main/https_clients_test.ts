/**
 * Real clients over HTTPS: main.ts runs with `--cert` and `--key` made for
 * the test by a CA of its own, and curl, wget, ApacheBench, `openssl
 * s_client` and Chromium fetch its pages the way people and scripts do.
 * Each client is told to trust the test CA (or, for Chromium, the leaf's
 * public key) and nothing else, so a page that arrives proves the server
 * presented the right chain; where a client can be asked, the test also
 * checks that without that trust it refuses, and what it negotiated: TLS
 * 1.2 or 1.3, ALPN `http/1.1`, SNI for `localhost`, and no TLS 1.1.
 *
 * Each test is ignored, with the reason in its name, when its client is not
 * installed. Chromium is driven by this file run as a program (see the end
 * of the file), as in ./clients_test.ts: playwright-core needs all
 * permissions, which the test task does not have.
 *
 * @module
 */

// Full specifier, as in ../_deps.ts: test libraries stay out of the import map.
// A type import only: the module itself is loaded by driveChromium() alone.
// deno-lint-ignore no-import-prefix
import type { Browser } from "npm:playwright-core@1.65.2";
import { assert, assertEquals, assertMatch, fromFileUrl, join } from "../_deps.ts";
import { CHROMIUM, CHROMIUM_ARGS, named } from "../_chromium.ts";
import { makeCertificates, type TestCertificates, writeCertificates } from "../_certs.ts";
import { withTempDir } from "../static/_static.ts";
import { loadX509 } from "../../lib/deps.ts";
import { MAIN, serveTaskArgs } from "./_main.ts";
import { spawnDeno, type Stopped } from "./_process.ts";

/** The line main.ts prints once it listens for HTTPS; group 1 is the port. */
const HTTPS_URL = /https:\/\/127\.0\.0\.1:(\d+)\//;

/**
 * How long one run of a client may take before it is killed: only a safety
 * net that turns a hang into a failure, generous for a loaded machine.
 */
const CLIENT_DEADLINE_MS = 15_000;

/** How long each step of driving Chromium (launch, load, fetch, close) may take. */
const BROWSER_DEADLINE_MS = 10_000;

/** How long the Chromium driver may take in all (it may fetch playwright-core on a first run). */
const DRIVER_DEADLINE_MS = 60_000;

/** The page every client asks for. */
const INDEX_HTML = "<!doctype html>\n<title>Portico over TLS</title>\n<p>Served securely</p>\n";
/** What the page shows, as a browser renders it. */
const INDEX_TEXT = "Served securely";
/** The size of the file fetched byte for byte. */
const BIG_BYTES = 1024 * 1024;

/** The byte at `offset` of `big.bin`: a pattern that repeats only every 256 × 4 KiB. */
function patternByte(offset: number): number {
  return (offset * 13 + (offset >>> 12)) & 0xff;
}

/** The contents of `big.bin`. */
function bigFile(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: BIG_BYTES }, (_, offset) => patternByte(offset));
}

/** What running a client printed. */
interface ClientOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `program` to its end, with `input` (or nothing) on its standard
 * input; it is killed when it has not finished within {@linkcode CLIENT_DEADLINE_MS}.
 */
async function runClient(
  program: string,
  args: readonly string[],
  input = "",
): Promise<ClientOutput> {
  const child = new Deno.Command(program, {
    args: [...args],
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CLIENT_DEADLINE_MS),
  }).spawn();
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  } catch {
    // The program ended without reading its input: its output says why.
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** What `program` printed on both outputs for `args`, whatever its exit code; null when it is not installed. */
async function probe(program: string, args: readonly string[]): Promise<string | null> {
  try {
    const { stdout, stderr } = await runClient(program, args);
    return stdout + stderr;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Whether a probe's output matches `feature`; false when the program is not installed. */
function has(output: string | null, feature: RegExp): boolean {
  return output !== null && feature.test(output);
}

/** Why each client's test is ignored, or null when it runs. */
const IGNORED = {
  curl: has(await probe("curl", ["-V"]), /^Protocols:.*\bhttps\b/m)
    ? null
    : "curl is not installed or speaks no HTTPS",
  wget: has(await probe("wget", ["--version"]), /\+https\b/)
    ? null
    : "wget is not installed or speaks no HTTPS",
  // ab lists -f (the TLS protocol) in its help only when it was built with TLS.
  ab: has(await probe("ab", ["-h"]), /^\s*-f protocol\b/m)
    ? null
    : "ab (apache2-utils) is not installed or was built without TLS",
  openssl: has(await probe("openssl", ["version"]), /^OpenSSL /)
    ? null
    : "openssl is not installed",
  chromium: await Deno.stat(CHROMIUM).then((info) => info.isFile, () => false)
    ? null
    : `${CHROMIUM} is not installed`,
} as const;

/** main.ts serving HTTPS from a temporary root, and the files the clients are given. */
interface HttpsSite {
  /** The HTTPS port on 127.0.0.1. */
  readonly port: number;
  /** The CA's certificate, PEM, as a file. */
  readonly caFile: string;
  /** The certificates main.ts was started with. */
  readonly certificates: TestCertificates;
  /** A folder the test may write into. */
  readonly scratch: string;
  /** The bytes of `/big.bin`. */
  readonly big: Uint8Array<ArrayBuffer>;
}

/**
 * Makes a CA and a leaf for localhost and 127.0.0.1, writes a root with
 * `index.html` and `big.bin`, starts main.ts over HTTPS on a port the system
 * picks, runs `fn`, and stops main.ts, which must exit 0.
 */
async function withHttpsSite(fn: (site: HttpsSite) => Promise<void>): Promise<void> {
  const certificates = await makeCertificates();
  const big = bigFile();
  const files = { "root/index.html": INDEX_HTML, "root/big.bin": big, "ca.pem": certificates.ca };
  await withTempDir(files, async (dir) => {
    const { cert, key } = await writeCertificates(dir, certificates);
    const scratch = join(dir, "scratch");
    await Deno.mkdir(scratch);
    const program = spawnDeno([
      ...serveTaskArgs(),
      MAIN,
      ...["--host", "127.0.0.1", "--port", "0", "--quiet"],
      ...["--root", join(dir, "root"), "--cert", cert, "--key", key],
    ]);
    let stopped: Stopped;
    try {
      const [, port] = await program.waitFor(HTTPS_URL);
      await fn({ port: Number(port), caFile: join(dir, "ca.pem"), certificates, scratch, big });
    } finally {
      stopped = await program.stop();
    }
    assertEquals(stopped.status.code, 0, stopped.stderr);
  });
}

/** curl's fixed arguments: no ~/.curlrc, errors shown, and its own deadline. */
const CURL = ["-q", "-s", "-S", "--max-time", String(CLIENT_DEADLINE_MS / 1000)] as const;

/** What `-w` makes curl print after a transfer, one `name=value` a line. */
const CURL_REPORT = "http_code=%{http_code}\nhttp_version=%{http_version}\n" +
  "ssl_verify_result=%{ssl_verify_result}\nsize_download=%{size_download}\n";

/** Runs curl with `args` for `url`, saving the body in `out`; returns its `-w` report by name. */
async function curlReport(
  args: readonly string[],
  url: string,
  out: string,
): Promise<{ report: Record<string, string>; stderr: string }> {
  const { code, stdout, stderr } = await runClient("curl", [
    ...CURL,
    ...args,
    "-o",
    out,
    "-w",
    CURL_REPORT,
    url,
  ]);
  assertEquals(code, 0, `curl ${args.join(" ")} ${url} failed: ${stderr}`);
  const report = Object.fromEntries(stdout.trim().split("\n").map((line) => line.split("=", 2)));
  return { report, stderr };
}

Deno.test({
  name: named(
    "main.ts with --cert serves curl trusting the test CA over HTTP/1.1 by ALPN, 1 MiB byte for byte",
    IGNORED.curl,
  ),
  ignore: IGNORED.curl !== null,
  fn: async () => {
    await withHttpsSite(async ({ port, caFile, scratch, big }) => {
      const page = join(scratch, "index.html");
      // -v tells the ALPN exchange on standard error: what curl offered and what the server chose.
      const index = await curlReport(
        ["-v", "--cacert", caFile],
        `https://127.0.0.1:${port}/`,
        page,
      );
      assertEquals(index.report.http_code, "200");
      assertEquals(index.report.http_version, "1.1");
      assertEquals(index.report.ssl_verify_result, "0");
      assertMatch(index.stderr, /ALPN[:,] offers .*http\/1\.1/);
      assertMatch(index.stderr, /ALPN[:,] server accepted (to use )?http\/1\.1/);
      assertEquals(await Deno.readTextFile(page), INDEX_HTML);

      // By name, so that curl sends SNI and checks the certificate for localhost.
      const saved = join(scratch, "big.bin");
      const download = await curlReport(
        ["--cacert", caFile],
        `https://localhost:${port}/big.bin`,
        saved,
      );
      assertEquals(download.report.http_version, "1.1");
      assertEquals(download.report.size_download, String(BIG_BYTES));
      assertEquals(await Deno.readFile(saved), big);

      // Without the test CA, curl cannot authenticate the server (exit code 60).
      const untrusted = await runClient("curl", [
        ...CURL,
        "-o",
        "/dev/null",
        `https://localhost:${port}/`,
      ]);
      assertEquals(untrusted.code, 60, untrusted.stderr);
    });
  },
});

/** wget's fixed arguments: no wgetrc, no HSTS database, one try with a deadline. */
const WGET = [
  "--no-config",
  "--no-hsts",
  "--tries=1",
  `--timeout=${CLIENT_DEADLINE_MS / 1000}`,
  "-q",
] as const;

Deno.test({
  name: named(
    "main.ts with --cert serves wget trusting the test CA, 1 MiB byte for byte",
    IGNORED.wget,
  ),
  ignore: IGNORED.wget !== null,
  fn: async () => {
    await withHttpsSite(async ({ port, caFile, scratch, big }) => {
      const trusting = [...WGET, `--ca-certificate=${caFile}`];
      const page = join(scratch, "index.html");
      const index = await runClient("wget", [
        ...trusting,
        "-S",
        "-O",
        page,
        `https://localhost:${port}/`,
      ]);
      assertEquals(index.code, 0, index.stderr);
      // -S prints the response head on standard error, each line indented.
      assertMatch(index.stderr, /^\s*HTTP\/1\.1 200 OK$/m);
      assertEquals(await Deno.readTextFile(page), INDEX_HTML);

      const saved = join(scratch, "big.bin");
      const download = await runClient("wget", [
        ...trusting,
        "-O",
        saved,
        `https://127.0.0.1:${port}/big.bin`,
      ]);
      assertEquals(download.code, 0, download.stderr);
      assertEquals(await Deno.readFile(saved), big);

      // Without the test CA, wget refuses the certificate (exit code 5: SSL verification failure).
      const untrusted = await runClient("wget", [
        ...WGET,
        "-O",
        "/dev/null",
        `https://localhost:${port}/`,
      ]);
      assertEquals(untrusted.code, 5, untrusted.stderr);
    });
  },
});

/** The TLS versions ab is pinned to with `-f`, and how it reports each. */
const AB_PROTOCOLS = [
  { flag: "TLS1.2", reported: "TLSv1.2" },
  { flag: "TLS1.3", reported: "TLSv1.3" },
] as const;

/** One of ab's `Name: value` report lines. */
function abField(report: string, name: string): string | undefined {
  return new RegExp(`^${name}:\\s*(.*)$`, "m").exec(report)?.[1].trim();
}

Deno.test({
  name: named(
    "main.ts with --cert answers ab's 50 requests from 5 clients over TLS 1.2 and 1.3 without a failure",
    IGNORED.ab,
  ),
  ignore: IGNORED.ab !== null,
  fn: async () => {
    await withHttpsSite(async ({ port }) => {
      for (const { flag, reported } of AB_PROTOCOLS) {
        for (const keepAlive of [[], ["-k"]]) {
          const args = ["-q", "-n", "50", "-c", "5", "-s", String(CLIENT_DEADLINE_MS / 1000)];
          // ab does not verify certificates: what it checks is that the exchanges succeed.
          const run = await runClient("ab", [
            ...args,
            ...keepAlive,
            "-f",
            flag,
            `https://127.0.0.1:${port}/`,
          ]);
          const what = `ab -f ${flag} ${keepAlive.join(" ")}`;
          assertEquals(run.code, 0, `${what}: ${run.stderr}`);
          assertMatch(
            abField(run.stdout, "SSL/TLS Protocol") ?? "",
            new RegExp(`^${reported},`),
            what,
          );
          assertEquals(abField(run.stdout, "Complete requests"), "50", what);
          assertEquals(abField(run.stdout, "Failed requests"), "0", what);
          assertEquals(abField(run.stdout, "Non-2xx responses"), undefined, what);
          assertEquals(abField(run.stdout, "Document Length"), `${INDEX_HTML.length} bytes`, what);
          if (keepAlive.length > 0) {
            assertEquals(abField(run.stdout, "Keep-Alive requests"), "50", what);
          }
        }
      }
    });
  },
});

/** A request that makes the server answer and then close, so that `s_client -ign_eof` ends. */
const CLOSING_GET = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/** An `openssl s_client` handshake that must succeed, and what its report must show. */
const S_CLIENT_CASES: ReadonlyArray<{
  readonly name: string;
  readonly args: readonly string[];
  readonly shows: readonly RegExp[];
}> = [
  {
    name: "ALPN http/1.1 is chosen",
    args: ["-alpn", "http/1.1"],
    shows: [/^ALPN protocol: http\/1\.1$/m],
  },
  {
    name: "SNI localhost gets the certificate for localhost",
    args: ["-servername", "localhost", "-verify_hostname", "localhost"],
    shows: [/^subject=CN ?= ?localhost$/m, /^issuer=CN ?= ?Portico test CA$/m],
  },
  {
    name: "TLS 1.2 succeeds",
    args: ["-tls1_2"],
    shows: [/^New, TLSv1\.2, Cipher is ECDHE-/m, /^\s*Protocol\s*: TLSv1\.2$/m],
  },
  {
    name: "TLS 1.3 succeeds",
    args: ["-tls1_3"],
    shows: [/^New, TLSv1\.3, Cipher is TLS_/m, /^\s*Protocol\s*: TLSv1\.3$/m],
  },
];

/** Runs `openssl s_client` against 127.0.0.1:`port` trusting only `caFile`, sending {@linkcode CLOSING_GET}. */
function sClient(port: number, caFile: string, args: readonly string[]): Promise<ClientOutput> {
  return runClient("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    "-CAfile",
    caFile,
    "-verify_return_error",
    "-ign_eof",
    ...args,
  ], CLOSING_GET);
}

Deno.test({
  name: named(
    "main.ts with --cert negotiates ALPN, SNI, TLS 1.2 and 1.3 with openssl s_client and refuses TLS 1.1",
    IGNORED.openssl,
  ),
  ignore: IGNORED.openssl !== null,
  fn: async (t) => {
    await withHttpsSite(async ({ port, caFile }) => {
      for (const { name, args, shows } of S_CLIENT_CASES) {
        await t.step(name, async () => {
          const { code, stdout, stderr } = await sClient(port, caFile, args);
          assertEquals(code, 0, stderr);
          assertMatch(stdout, /^Verification: OK$/m);
          for (const pattern of shows) assertMatch(stdout, pattern, stdout);
          // The page came through the connection.
          assertMatch(stdout, /^HTTP\/1\.1 200 OK\r?$/m);
        });
      }
      await t.step("TLS 1.1 is refused by the server", async () => {
        // SECLEVEL=0 lets this OpenSSL offer TLS 1.1 at all, so that the refusal is the server's.
        const { code, stdout, stderr } = await sClient(port, caFile, [
          "-tls1_1",
          "-cipher",
          "DEFAULT@SECLEVEL=0",
        ]);
        assert(code !== 0, stdout);
        // "alert" is what the server sent: a handshake failure or a protocol version alert.
        assertMatch(stderr, /alert (handshake failure|protocol version)/);
        assert(!stdout.includes("HTTP/1.1"), "no page over TLS 1.1");
      });
    });
  },
});

/**
 * The value for `--ignore-certificate-errors-spki-list`: the base64 SHA-256
 * of the certificate's SubjectPublicKeyInfo (what `openssl x509 -pubkey |
 * openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`
 * prints).
 */
async function spkiPin(certificatePem: string): Promise<string> {
  const x509 = await loadX509();
  const spki = new x509.X509Certificate(certificatePem).publicKey.rawData;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", spki));
  return btoa(String.fromCharCode(...digest));
}

/** The hex SHA-256 of `bytes`. */
async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** What {@linkcode driveChromium} prints about the page it opened. */
interface SecureReport {
  status: number;
  /** The page's text, as rendered. */
  text: string;
  title: string;
  /** The navigation's protocol as the page sees it (`nextHopProtocol`). */
  nextHop: string;
  /** Playwright's `securityDetails()` of the page's response. */
  security: { protocol?: string; subjectName?: string; issuer?: string } | null;
  /** `/big.bin` fetched by the page: its length and SHA-256 in hex. */
  big: { length: number; sha256: string };
}

/** What the page computes about `/big.bin`, as source text: the type checker has no DOM types. */
const FETCH_BIG = `(async () => {
  const bytes = await (await fetch("/big.bin")).arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const sha256 = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return { length: bytes.byteLength, sha256 };
})()`;

/** Opens `url` in a page of `browser` and reports what it saw. */
async function reportPage(browser: Browser, url: string): Promise<SecureReport> {
  const page = await browser.newPage();
  page.setDefaultTimeout(BROWSER_DEADLINE_MS);
  const response = await page.goto(url, { waitUntil: "load" });
  if (response === null) throw new Error(`no response for ${url}`);
  const nextHop = await page.evaluate<string>(
    'performance.getEntriesByType("navigation")[0].nextHopProtocol',
  );
  return {
    status: response.status(),
    text: await page.evaluate<string>("document.body.innerText"),
    title: await page.title(),
    nextHop,
    security: await response.securityDetails(),
    big: await page.evaluate<{ length: number; sha256: string }>(FETCH_BIG),
  };
}

/**
 * Starts Chromium trusting the certificate whose public key has the pin
 * `spki`, opens `url` and reports what it saw. It runs in a process of its
 * own (this file run as a program, see the end of the file).
 */
async function driveChromium(url: string, spki: string): Promise<SecureReport> {
  // deno-lint-ignore no-import-prefix
  const { chromium } = await import("npm:playwright-core@1.65.2");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spki}`],
    timeout: BROWSER_DEADLINE_MS,
  });
  try {
    return await reportPage(browser, url);
  } finally {
    await browser.close();
  }
}

Deno.test({
  name: named(
    "main.ts with --cert serves Chromium trusting the leaf's public key the page over TLS 1.2+ and HTTP/1.1",
    IGNORED.chromium,
  ),
  ignore: IGNORED.chromium !== null,
  fn: async () => {
    await withHttpsSite(async ({ port, certificates, big }) => {
      const spki = await spkiPin(certificates.cert);
      const url = `https://localhost:${port}/`;
      // --no-lock: the lock is the test runner's; a second writer could only race it.
      const driver = spawnDeno(["run", "-A", "--no-lock", fromFileUrl(import.meta.url), url, spki]);
      let stopped: Stopped;
      try {
        stopped = await driver.exited(DRIVER_DEADLINE_MS);
      } finally {
        // Reaps it, with SIGTERM first when it is still running: Playwright closes the browser on it.
        await driver.stop();
      }
      assertEquals(stopped.status.code, 0, stopped.stderr);
      const report: SecureReport = JSON.parse(stopped.stdout.trim().split("\n").at(-1)!);
      assertEquals(report.status, 200);
      assertEquals(report.title, "Portico over TLS");
      assertEquals(report.text.trim(), INDEX_TEXT);
      assertEquals(report.nextHop, "http/1.1");
      assertMatch(report.security?.protocol ?? "", /^TLS 1\.[23]$/);
      assertEquals(report.security?.subjectName, "localhost");
      assertEquals(report.security?.issuer, "Portico test CA");
      assertEquals(report.big, { length: BIG_BYTES, sha256: await sha256Hex(big) });
    });
  },
});

// Run as a program (by the test above), this file drives Chromium and prints
// its report as JSON; under `deno test` this does not run.
if (import.meta.main) {
  console.log(JSON.stringify(await driveChromium(Deno.args[0], Deno.args[1])));
}
