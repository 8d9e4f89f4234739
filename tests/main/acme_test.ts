/**
 * The ACME certificate through the whole program, against pebble (a test
 * ACME server that validates for real): main.ts answers the HTTP-01
 * challenge on its plain port, obtains the certificate, stores it and
 * serves it over HTTPS to a client that trusts only pebble's issuing root;
 * started again with pebble gone, it serves the stored certificate at once.
 *
 * @module
 */

import { assertEquals, assertMatch, join } from "../_deps.ts";
import { exchange, READ_TIMEOUT_MS } from "../_helpers.ts";
import { withTempDir } from "../static/_static.ts";
import {
  findProgram,
  freePort,
  issuingRoot,
  PEBBLE_PROGRAMS,
  withPebble,
} from "../acme/_pebble.ts";
import { MAIN, serveTaskArgs } from "./_main.ts";
import { spawnDeno, type Stopped } from "./_process.ts";

/** The domain the certificate is for; the mock DNS answers 127.0.0.1 for it. */
const DOMAIN = "test.example";
/** The page served, with bytes beyond ASCII so that any re-encoding shows. */
const PAGE = "<!doctype html>\n<p>Certified by pebble: \u2713 \u00fc</p>\n";
/** The line main.ts prints once it serves HTTPS; group 1 is the port. */
const HTTPS_URL = /https:\/\/127\.0\.0\.1:(\d+)\//;

/** What main.ts says about ACME when it orders a certificate, in order. */
const ISSUED_STEPS: readonly RegExp[] = [
  /^acme: account registered$/,
  /^acme: order created for test\.example$/,
  /^acme: challenge for test\.example answered$/,
  /^acme: certificate issued, valid until \S+, serial \S+$/,
];
/** What it says when it serves the stored certificate: nothing else about ACME. */
const STORED_STEPS: readonly RegExp[] = [
  /^acme: stored certificate for test\.example valid until \S+$/,
];

/** The storage folder's entries (folders end in `/`) and their permission bits. */
const STORED_FILES: Readonly<Record<string, number>> = {
  "account.key.pem": 0o600,
  "certificates/": 0o700,
  "certificates/test.example/": 0o700,
  "certificates/test.example/cert.pem": 0o644,
  "certificates/test.example/key.pem": 0o600,
};

/** curl's exit code for a certificate its CA file does not vouch for. */
const CURL_UNTRUSTED = 60;

const missing = [...Object.values(PEBBLE_PROGRAMS), "curl"].filter((program) =>
  findProgram(program) === null
);
const IGNORED = missing.length === 0
  ? ""
  : ` (ignored: ${missing.join(", ")} not installed; apt-get install pebble curl)`;
if (missing.length > 0) {
  console.log(`acme_test: ignored, ${missing.join(" and ")} not on PATH (Debian packages)`);
}

/** What one run of main.ts with `--acme` is given. */
interface AcmeRun {
  /** The document root. */
  readonly root: string;
  /** `--acme-dir`, the only folder the program may write to. */
  readonly acmeDir: string;
  /** `--acme-directory`. */
  readonly directoryUrl: string;
  /** `--acme-ca-cert`: the CA of pebble's own HTTPS. */
  readonly caFile: string;
  /** `--redirect-http`: where pebble connects for HTTP-01. */
  readonly plainPort: number;
}

/** The serve task's command with write access to the ACME folder, and the ACME flags. */
function mainArgs(run: AcmeRun): string[] {
  return [
    ...serveTaskArgs(),
    `--allow-write=${run.acmeDir}`,
    MAIN,
    ...["--host", "127.0.0.1", "--port", "0", "--root", run.root],
    ...["--acme", DOMAIN, "--acme-email", `a@${DOMAIN}`],
    ...["--acme-directory", run.directoryUrl, "--acme-ca-cert", run.caFile],
    ...["--acme-dir", run.acmeDir, "--redirect-http", String(run.plainPort)],
  ];
}

/**
 * Starts main.ts, waits (with the start deadline) for its HTTPS URL and its
 * plain port, runs `fn` with the HTTPS port and the `acme:` lines printed so
 * far, then stops it with SIGTERM and checks that it exits 0.
 */
async function withAcmeMain(
  run: AcmeRun,
  fn: (httpsPort: number, acmeLines: string[]) => Promise<void>,
): Promise<void> {
  const program = spawnDeno(mainArgs(run));
  let stopped: Stopped;
  try {
    const [, port] = await program.waitFor(HTTPS_URL);
    await program.waitFor(new RegExp(`plain HTTP on port ${run.plainPort} redirects to HTTPS`));
    const lines = program.stdout.split("\n").map((line) => line.trim());
    await fn(Number(port), lines.filter((line) => line.startsWith("acme:")));
  } finally {
    stopped = await program.stop();
  }
  assertEquals(stopped.status.code, 0, stopped.stderr);
}

/** Asserts that the lines are the steps, one each, in order. */
function assertSteps(lines: readonly string[], steps: readonly RegExp[]): void {
  assertEquals(lines.length, steps.length, lines.join("\n"));
  steps.forEach((step, i) => assertMatch(lines[i], step));
}

/**
 * Runs curl for `https://test.example:PORT/`, resolved to 127.0.0.1, trusting only the CA in
 * `caFile`.
 */
async function curl(port: number, caFile: string): Promise<Deno.CommandOutput> {
  return await new Deno.Command("curl", {
    args: [
      ...["--resolve", `${DOMAIN}:${port}:127.0.0.1`, "--cacert", caFile],
      ...["--silent", "--show-error", "--fail", "--max-time", String(READ_TIMEOUT_MS / 1000)],
      `https://${DOMAIN}:${port}/`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(2 * READ_TIMEOUT_MS),
  }).output();
}

/** Asserts that curl, trusting only `rootFile`, gets the page's exact bytes. */
async function assertPageTrusted(port: number, rootFile: string): Promise<void> {
  const output = await curl(port, rootFile);
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  assertEquals(output.stdout, new TextEncoder().encode(PAGE));
}

/** Asserts the plain port: an unknown challenge token is not found, anything else goes to HTTPS. */
async function assertPlainPort(plainPort: number, httpsPort: number): Promise<void> {
  const get = (path: string) =>
    exchange(plainPort, `GET ${path} HTTP/1.1\r\nHost: ${DOMAIN}\r\nConnection: close\r\n\r\n`);
  const other = await get("/x?y=1");
  assertEquals(other.status, 308);
  assertEquals(other.headers.get("location"), `https://${DOMAIN}:${httpsPort}/x?y=1`);
  const unknown = await get("/.well-known/acme-challenge/unknown");
  assertEquals(unknown.status, 404, `location: ${unknown.headers.get("location")}`);
}

/** The entries under a folder (folders end in `/`), by path relative to it, and their modes. */
async function entryModes(folder: string, under = ""): Promise<Record<string, number>> {
  const modes: Record<string, number> = {};
  for await (const entry of Deno.readDir(join(folder, under))) {
    const path = `${under}${entry.name}${entry.isDirectory ? "/" : ""}`;
    modes[path] = (await Deno.stat(join(folder, path))).mode! & 0o777;
    if (entry.isDirectory) Object.assign(modes, await entryModes(folder, path));
  }
  return modes;
}

Deno.test({
  name:
    `main.ts --acme obtains a certificate from pebble over HTTP-01, serves it, and serves the stored one without pebble${IGNORED}`,
  ignore: missing.length > 0 || Deno.build.os === "windows",
  async fn() {
    await withTempDir({ "site/index.html": PAGE }, async (dir) => {
      const rootFile = join(dir, "root.pem");
      const plainPort = freePort();
      const run = await withPebble(dir, plainPort, async (pebble) => {
        const run: AcmeRun = {
          root: join(dir, "site"),
          acmeDir: join(dir, "acme"),
          directoryUrl: pebble.directoryUrl,
          caFile: pebble.apiCaFile,
          plainPort,
        };
        await Deno.writeTextFile(rootFile, await issuingRoot(pebble));
        await withAcmeMain(run, async (httpsPort, acmeLines) => {
          assertSteps(acmeLines, ISSUED_STEPS);
          await assertPageTrusted(httpsPort, rootFile);
          // Trusting only the CA of pebble's own HTTPS, the client refuses: the root is what vouches.
          assertEquals((await curl(httpsPort, pebble.apiCaFile)).code, CURL_UNTRUSTED);
        }).catch((error) => {
          throw new Error(`${(error as Error).message}\npebble:\n${pebble.output()}`);
        });
        return run;
      });

      // Pebble is stopped: only the stored certificate can serve now.
      assertEquals(await entryModes(run.acmeDir), STORED_FILES);
      const certFile = join(run.acmeDir, "certificates", DOMAIN, "cert.pem");
      const certificate = await Deno.readTextFile(certFile);
      await withAcmeMain(run, async (httpsPort, acmeLines) => {
        assertSteps(acmeLines, STORED_STEPS);
        await assertPageTrusted(httpsPort, rootFile);
        assertEquals(
          await Deno.readTextFile(certFile),
          certificate,
          "the stored one, not a new one",
        );
        assertEquals(await entryModes(run.acmeDir), STORED_FILES);
        await assertPlainPort(plainPort, httpsPort);
      });
    });
  },
});
