/**
 * Micro-benchmarks of the HTTP layer's per-request CPU work: parsing a
 * request head (wrk's, and a 16-field browser navigation) with a reused
 * scanner as the connection loop does, with and without building the field
 * strings, and serialising a 200 and a 304 head.
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
import { buildRequestHead, HeadScanner } from "../lib/http/parse.ts";
import { encodeLatin1, serializeHead } from "../lib/http/response.ts";

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

const scanner = new HeadScanner(DEFAULT_LIMITS);

for (const [name, text] of Object.entries(HEADS)) {
  const bytes = new TextEncoder().encode(text);
  const fields = text.split("\r\n").length - 3; // the request line and the two empty lines
  const scan = () => {
    scanner.reset();
    if (scanner.scan(bytes, 0, bytes.length) !== bytes.length) throw new Error("head not complete");
  };
  Deno.bench(`parse ${name} head: scan + buildRequestHead (reused scanner)`, () => {
    scan();
    const head = buildRequestHead(bytes, 0, scanner);
    if (head.fields.length !== fields) throw new Error(`${head.fields.length} fields`);
  });
  // The difference to the above is the cost of building the field strings.
  Deno.bench(`parse ${name} head: scan only`, () => {
    scan();
    if (scanner.fields.length / 4 !== fields) {
      throw new Error(`${scanner.fields.length / 4} fields`);
    }
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
