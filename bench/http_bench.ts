/**
 * Micro-benchmarks of the per-request CPU work in the HTTP layer: parsing a
 * request head and serialising a response head.
 *
 * ```sh
 * deno bench bench/http_bench.ts
 * ```
 *
 * No permissions are needed: the browser request is embedded below rather
 * than read from `tests/fixtures/requests/browser_get.http`. With
 * `--allow-read` the embedded copy is compared with that fixture at load, so
 * the two cannot drift apart unnoticed.
 *
 * Every benchmark checks what it computed and throws when it is wrong, which
 * both guards against measuring an error path and keeps V8 from discarding
 * the work as dead code.
 *
 * @module
 */

import { DEFAULT_LIMITS } from "../lib/config.ts";
import { buildRequestHead, HeadScanner, parseRequestHead } from "../lib/http/parse.ts";
import { encodeLatin1, serializeHead } from "../lib/http/response.ts";

// ---------------------------------------------------------------------------
// Inputs

/** What wrk sends for each request: the request line and Host only. */
const WRK_HEAD = "GET /12b HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n";

/** A Chrome 124 navigation, identical to `tests/fixtures/requests/browser_get.http`. */
const BROWSER_HEAD = [
  "GET /docs/index.html?lang=en&q=a%20b HTTP/1.1",
  "Host: localhost:8000",
  "Connection: keep-alive",
  'sec-ch-ua: "Chromium";v="124", "Not-A.Brand";v="99"',
  "sec-ch-ua-mobile: ?0",
  'sec-ch-ua-platform: "Linux"',
  "Upgrade-Insecure-Requests: 1",
  "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " +
  "Chrome/124.0.0.0 Safari/537.36",
  "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp," +
  "*/*;q=0.8",
  "Sec-Fetch-Site: none",
  "Sec-Fetch-Mode: navigate",
  "Sec-Fetch-User: ?1",
  "Sec-Fetch-Dest: document",
  "Accept-Encoding: gzip, deflate, br, zstd",
  "Accept-Language: en-GB,en;q=0.9",
  'If-None-Match: "5f3a-18c2b"',
  "Cookie: theme=dark; session=abc123",
  "",
  "",
].join("\r\n");

const BROWSER_FIELDS = 16;
const FIXTURE = new URL("../tests/fixtures/requests/browser_get.http", import.meta.url);

/**
 * Compares the embedded browser head with the fixture file when reading it
 * is allowed; does nothing otherwise (a plain `deno bench` has no permissions).
 */
function checkFixture(embedded: string, fixture: URL): void {
  if (Deno.permissions.querySync({ name: "read", path: fixture }).state !== "granted") return;
  // The fixture's line endings are normalised so a checkout with LF endings still matches.
  const text = Deno.readTextFileSync(fixture).replace(/\r?\n/g, "\r\n");
  if (text !== embedded) {
    throw new Error(`Embedded browser head differs from ${fixture.pathname}`);
  }
}

checkFixture(BROWSER_HEAD, FIXTURE);

const encoder = new TextEncoder();
const wrkBytes = encoder.encode(WRK_HEAD);
const browserBytes = encoder.encode(BROWSER_HEAD);

// One scanner reused for every request, as the connection loop does.
const scanner = new HeadScanner(DEFAULT_LIMITS);

/** What the static handler sets for a 12-byte text file (see lib/static/send.ts). */
function staticFileHeaders(): Headers {
  return new Headers({
    "content-type": "text/plain; charset=UTF-8",
    "accept-ranges": "bytes",
    "etag": '"18c2b5f3a00-c"',
    "last-modified": "Tue, 14 May 2024 09:30:00 GMT",
    "content-length": "12",
  });
}

/** What the static handler keeps for a 304: the 200's fields without content-type. */
function notModifiedHeaders(): Headers {
  const headers = staticFileHeaders();
  headers.delete("content-type");
  headers.delete("content-length");
  return headers;
}

const okHeaders = staticFileHeaders();
const notModified = notModifiedHeaders();
// The fields the connection adds: framing first, then persistence (none for 1.1 keep-alive).
const OK_FRAMING = [["content-length", "12"]] as const;
const NOT_MODIFIED_FRAMING = [] as const;
const SERVER = "portico";

/** The shortest head either response can have; anything shorter means a broken serialiser. */
const MIN_HEAD_BYTES = 100;

// ---------------------------------------------------------------------------
// Parsing

/** Scans and builds a head the way BufferedReader.readHead() does; returns its field count. */
function scanAndBuild(bytes: Uint8Array): number {
  scanner.reset();
  const end = scanner.scan(bytes, 0, bytes.length);
  if (end !== bytes.length) throw new Error(`Head not complete: scan returned ${end}`);
  return buildRequestHead(bytes, 0, scanner).fields.length;
}

/** Scans only (validation and offsets, no string decoding); returns the field count. */
function scanOnly(bytes: Uint8Array): number {
  scanner.reset();
  const end = scanner.scan(bytes, 0, bytes.length);
  if (end !== bytes.length) throw new Error(`Head not complete: scan returned ${end}`);
  return scanner.fields.length / 4;
}

/** The convenience entry point, which allocates a scanner per call. */
function parseFresh(bytes: Uint8Array): number {
  const parsed = parseRequestHead(bytes, DEFAULT_LIMITS);
  if (parsed === null) throw new Error("Head not complete");
  return parsed.head.fields.length;
}

/** Throws unless `actual` is the expected field count. */
function expectFields(actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`Expected ${expected} fields, got ${actual}`);
}

for (
  const [label, bytes, fields] of [
    ["wrk head", wrkBytes, 1],
    ["browser head", browserBytes, BROWSER_FIELDS],
  ] as const
) {
  const group = `parse ${label}`;
  Deno.bench({
    name: `${label}: scan + buildRequestHead (reused scanner)`,
    group,
    baseline: true,
    fn: () => expectFields(scanAndBuild(bytes), fields),
  });
  Deno.bench({
    name: `${label}: scan only`,
    group,
    fn: () => expectFields(scanOnly(bytes), fields),
  });
  Deno.bench({
    name: `${label}: parseRequestHead (new scanner)`,
    group,
    fn: () => expectFields(parseFresh(bytes), fields),
  });
}

// ---------------------------------------------------------------------------
// Serialising

/** Throws unless a serialised head has a plausible size; returns it. */
function expectHead(length: number): number {
  if (length < MIN_HEAD_BYTES) throw new Error(`Head is only ${length} bytes`);
  return length;
}

Deno.bench({
  name: "304: serializeHead + encodeLatin1",
  group: "serialize response head",
  baseline: true,
  fn: () => {
    const head = serializeHead(304, "Not Modified", notModified, NOT_MODIFIED_FRAMING, SERVER);
    expectHead(encodeLatin1(head).length);
  },
});

Deno.bench({
  name: "200: serializeHead + encodeLatin1",
  group: "serialize response head",
  fn: () => {
    const head = serializeHead(200, "OK", okHeaders, OK_FRAMING, SERVER);
    expectHead(encodeLatin1(head).length);
  },
});

Deno.bench({
  name: "200: serializeHead only (string)",
  group: "serialize response head",
  fn: () => {
    expectHead(serializeHead(200, "OK", okHeaders, OK_FRAMING, SERVER).length);
  },
});

Deno.bench({
  name: "200: new Headers() + serializeHead + encodeLatin1",
  group: "serialize response head",
  fn: () => {
    const head = serializeHead(200, "OK", staticFileHeaders(), OK_FRAMING, SERVER);
    expectHead(encodeLatin1(head).length);
  },
});
