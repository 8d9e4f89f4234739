/**
 * Micro-benchmarks of the HTTP layer's per-request CPU work: parsing a
 * request head (wrk's, and a 17-field Chromium navigation) with a reused
 * scanner as the connection loop does; what a request costs up to the point
 * the prepared-bytes shortcut has its inputs (path, `Accept-Encoding`,
 * preconditions) and, separately, up to a Fetch `Request` for the handler;
 * and serialising a 200 and a 304 head.
 * Each checks what it computed, so no error path is measured and V8 cannot
 * discard the work.
 *
 * ```sh
 * deno bench bench/http_bench.ts
 * ```
 *
 * @module
 */

import { DEFAULT_LIMITS } from "../lib/config.ts";
import { encodingNegotiator } from "../lib/encoding/negotiate.ts";
import { buildRequestHead, HeadScanner } from "../lib/http/parse.ts";
import { rawPath, requestUrl, toRequest } from "../lib/http/request.ts";
import { encodeLatin1, serializeHead } from "../lib/http/response.ts";
import { preparedChoice } from "../lib/prepared.ts";
import type { CachedFile, CachedRepresentation } from "../lib/static/cache.ts";

const HEADS = {
  wrk: "GET /12b HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n",
  browser: [
    "GET /docs/index.html?lang=en&q=a%20b HTTP/1.1",
    "Host: localhost:8000",
    "Connection: keep-alive",
    'sec-ch-ua: "Chromium";v="124", "Not-A.Brand";v="99"',
    "sec-ch-ua-mobile: ?0",
    'sec-ch-ua-platform: "Linux"',
    "Upgrade-Insecure-Requests: 1",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " +
    "Chrome/124.0.0.0 Safari/537.36",
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
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
  ].join("\r\n"),
} as const;

/**
 * The cached file each head asks for, as the static layer would hold it: the
 * 12-byte file wrk fetches, and a page with a Brotli representation whose
 * entity tag the browser revalidates.
 */
function cachedFile(coding: "identity" | "br", etag: string): CachedFile {
  const representation: CachedRepresentation = {
    coding: "br",
    body: new Uint8Array(1024),
    headers: new Headers({ "content-type": "text/html; charset=UTF-8", etag }),
    validators: { etag, lastModified: new Date(1715679000000) },
  };
  const size = coding === "br" ? 4096 : 12;
  return {
    coding: "identity",
    body: new Uint8Array(size),
    headers: new Headers({ "content-type": "text/plain; charset=UTF-8", etag: '"18c2b-c"' }),
    validators: { etag: '"18c2b-c"', lastModified: new Date(1715679000000) },
    path: "/srv/www/file",
    stat: { isFile: true, isDirectory: false, size, mtime: null, ino: null, ctime: null },
    type: "text/plain; charset=UTF-8",
    codings: coding === "br" ? ["br", "gzip"] : [],
    encoded: new Map(coding === "br" ? [["br", representation]] : []),
  };
}

const FILES = {
  wrk: { file: cachedFile("identity", '"18c2b-c"'), expected: "get" },
  browser: { file: cachedFile("br", '"5f3a-18c2b"'), expected: "not-modified" },
} as const;

const negotiate = encodingNegotiator(["br", "gzip"]);
const scanner = new HeadScanner(DEFAULT_LIMITS);

for (const [name, text] of Object.entries(HEADS)) {
  const bytes = new TextEncoder().encode(text);
  const fields = text.split("\r\n").length - 3; // the request line and the two empty lines
  const { file, expected } = FILES[name as keyof typeof HEADS];
  const parse = () => {
    scanner.reset();
    if (scanner.scan(bytes, 0, bytes.length) !== bytes.length) throw new Error("head not complete");
    const head = buildRequestHead(bytes, 0, scanner);
    if (head.fieldCount !== fields) throw new Error(`${head.fieldCount} fields`);
    return head;
  };
  Deno.bench(`parse ${name} head: scan + buildRequestHead (reused scanner)`, () => {
    parse();
  });
  // The difference to the above is the cost of building the head from the offsets.
  Deno.bench(`parse ${name} head: scan only`, () => {
    scanner.reset();
    if (scanner.scan(bytes, 0, bytes.length) !== bytes.length) throw new Error("head not complete");
    if (scanner.fields.length / 4 !== fields) {
      throw new Error(`${scanner.fields.length / 4} fields`);
    }
  });
  // What the connection loop does before the shortcut can answer: the head,
  // its raw path (the cache's key) and the fields the prepared answer reads.
  Deno.bench(`request ${name}: head + shortcut inputs (rawPath + preparedChoice)`, () => {
    const head = parse();
    if (rawPath(head).length < 4) throw new Error("no path");
    const choice = preparedChoice(head, file, negotiate);
    if (choice?.kind !== expected) throw new Error(`${choice?.kind} instead of ${expected}`);
  });
  // What a request the handler answers costs before the handler runs.
  Deno.bench(`request ${name}: head + Fetch Request (requestUrl + toRequest)`, () => {
    const head = parse();
    const request = toRequest(head, requestUrl(head, "http", "127.0.0.1:8000"), null);
    if (request.headers.get("host") === null) throw new Error("no Host");
  });
}

/** What the static layer sends for a 12-byte file; the 304 keeps all but the body's fields. */
const OK = new Headers({
  "content-type": "text/plain; charset=UTF-8",
  "accept-ranges": "bytes",
  "etag": '"18c2b5f3a00-c"',
  "last-modified": "Tue, 14 May 2024 09:30:00 GMT",
  "content-length": "12",
});
const NOT_MODIFIED = new Headers([...OK].filter(([name]) => !name.startsWith("content-")));

for (
  const [status, reason, headers, framing] of [
    [200, "OK", OK, [["content-length", "12"]]],
    [304, "Not Modified", NOT_MODIFIED, []],
  ] as const
) {
  Deno.bench(`serialise ${status} head: serializeHead + encodeLatin1`, () => {
    const head = encodeLatin1(serializeHead(status, reason, headers, framing, "portico"));
    if (head.length < 100) throw new Error(`head of only ${head.length} bytes`);
  });
}
