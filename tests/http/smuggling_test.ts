/**
 * Request smuggling over a real socket: each row sends one request whose body
 * framing is ambiguous or invalid, followed in the same write by a complete
 * second request for `/smuggled`. The server must either refuse the first
 * request and close (the status comes from `lib/http/parse.ts` and
 * `lib/http/body.ts`), or, when the framing is unambiguous, take exactly the
 * declared body (which then holds the second request as data). Either way
 * `/smuggled` is never answered and never reaches the handler.
 */

import { assert, assertEquals } from "../_deps.ts";
import { RawClient, withServer } from "../_helpers.ts";

/** The bytes a smuggler hopes the server will read as a request of their own. */
const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
/** Their length, and in hex, for bodies that hold them exactly. */
const S = SMUGGLED.length;
const S_HEX = S.toString(16);

/** A POST head with `fields` (one "Name: value" per entry), then `body`, as sent. */
function post(fields: readonly string[], body: string, version = "HTTP/1.1"): string {
  const lines = fields.map((field) => `${field}\r\n`).join("");
  return `POST / ${version}\r\nHost: x\r\n${lines}\r\n${body}`;
}

/** One row: a request (the smuggled bytes are part of it) and what must happen. */
interface SmugglingCase {
  /** Completes the test name: "does not answer bytes after <name> as a request". */
  readonly name: string;
  /** Every byte sent, in one write. */
  readonly request: string;
  /**
   * The status of the only response, after which the server closes; or
   * "served" for framing that is unambiguous, which is answered 200 with the
   * body length the handler read and keeps the connection.
   */
  readonly expect: number | "served";
  /** For "served": the body length the handler must see. */
  readonly bodyLength?: number;
  /** Half-close after sending, for framing that waits for bytes that never come. */
  readonly halfClose?: boolean;
  /** The head is valid and the body fails as the handler reads it, so the handler sees the request. */
  readonly bodyError?: boolean;
}

const CASES: readonly SmugglingCase[] = [
  // Content-Length and Transfer-Encoding together (RFC 9112 §6.1).
  {
    name: "Content-Length then Transfer-Encoding",
    request: post(["Content-Length: 5", "Transfer-Encoding: chunked"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Transfer-Encoding then Content-Length",
    request: post(["Transfer-Encoding: chunked", "Content-Length: 5"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Content-Length: 0 with Transfer-Encoding",
    request: post(["Content-Length: 0", "Transfer-Encoding: chunked"], `${S_HEX}\r\n${SMUGGLED}`),
    expect: 400,
  },

  // Content-Length values (RFC 9112 §6.3, RFC 9110 §8.6).
  {
    name: "two different Content-Length fields",
    request: post(["Content-Length: 0", `Content-Length: ${S}`], SMUGGLED),
    expect: 400,
  },
  {
    name: "a Content-Length list of different values",
    request: post([`Content-Length: 0, ${S}`], SMUGGLED),
    expect: 400,
  },
  {
    // Identical repeats are allowed (RFC 9112 §6.3); the body is that length.
    name: "two equal Content-Length fields",
    request: post([`Content-Length: ${S}`, `Content-Length: ${S}`], SMUGGLED),
    expect: "served",
    bodyLength: S,
  },
  {
    name: "a Content-Length list of equal values",
    request: post([`Content-Length: ${S}, ${S}`], SMUGGLED),
    expect: "served",
    bodyLength: S,
  },
  {
    name: "Content-Length: +5",
    request: post(["Content-Length: +5"], `hello${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Content-Length: -1",
    request: post(["Content-Length: -1"], SMUGGLED),
    expect: 400,
  },
  {
    name: "Content-Length: 0x5",
    request: post(["Content-Length: 0x5"], `hello${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Content-Length: 5 with trailing garbage",
    request: post(["Content-Length: 5 x"], `hello${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Content-Length: 5;",
    request: post(["Content-Length: 5;"], `hello${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Content-Length: 5.0",
    request: post(["Content-Length: 5.0"], `hello${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Content-Length: 1e1",
    request: post(["Content-Length: 1e1"], `hello${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "an empty Content-Length",
    request: post(["Content-Length:"], SMUGGLED),
    expect: 400,
  },
  {
    name: "Content-Length with a space inside the number",
    request: post(["Content-Length: 1 0"], `hello${SMUGGLED}`),
    expect: 400,
  },
  {
    // Trailing whitespace is not part of a field value (RFC 9112 §5.1).
    name: "Content-Length with trailing whitespace",
    request: post([`Content-Length: ${S} \t `], SMUGGLED),
    expect: "served",
    bodyLength: S,
  },
  {
    name: "Content-Length with leading zeros",
    request: post([`Content-Length: 0000000000${S}`], SMUGGLED),
    expect: "served",
    bodyLength: S,
  },
  {
    name: "a Content-Length beyond 2^53",
    request: post(["Content-Length: 99999999999999999999999"], SMUGGLED),
    expect: 413,
  },
  {
    name: "a Content-Length of 2^53 - 1",
    request: post(["Content-Length: 9007199254740991"], SMUGGLED),
    expect: 413,
  },
  {
    name: "a Content-Length one past the 10 MiB body limit",
    request: post(["Content-Length: 10485761"], SMUGGLED),
    expect: 413,
  },
  {
    name: "Content-Length folded onto a second line",
    request: post(["Content-Length: 0\r\n 5"], `hello${SMUGGLED}`),
    expect: 400,
  },
  {
    // The body of a GET is read and dropped before the handler runs.
    name: "a GET with a Content-Length body",
    request: `GET / HTTP/1.1\r\nHost: x\r\nContent-Length: ${S}\r\n\r\n${SMUGGLED}`,
    expect: "served",
    bodyLength: 0,
  },

  // Transfer-Encoding field syntax (RFC 9112 §5.1, §6.1).
  {
    name: "Transfer-Encoding with a space before the colon",
    request: post(["Transfer-Encoding : chunked"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Transfer-Encoding with a tab before the colon",
    request: post(["Transfer-Encoding\t: chunked"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "an indented Transfer-Encoding as the first field",
    request:
      `POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: x\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: 400,
  },
  {
    name: "Transfer-Encoding: xchunked",
    request: post(["Transfer-Encoding: xchunked"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Transfer-Encoding: chunked, identity",
    request: post(["Transfer-Encoding: chunked, identity"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    // Valid HTTP with a coding this server does not implement (RFC 9112 §6.1).
    name: "Transfer-Encoding: identity, chunked",
    request: post(["Transfer-Encoding: identity, chunked"], `0\r\n\r\n${SMUGGLED}`),
    expect: 501,
  },
  {
    name: "Transfer-Encoding: identity",
    request: post(["Transfer-Encoding: identity"], SMUGGLED),
    expect: 400,
  },
  {
    name: "Transfer-Encoding: chunked;",
    request: post(["Transfer-Encoding: chunked;"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    name: 'Transfer-Encoding: "chunked"',
    request: post(['Transfer-Encoding: "chunked"'], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Transfer-Encoding: chunked, (an empty list member)",
    request: post(["Transfer-Encoding: chunked,"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Transfer-Encoding with a vertical tab in its value",
    request: post(["Transfer-Encoding: chunked\x0b"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    // A tab is optional whitespace before a value (RFC 9112 §5.1): this is chunked.
    name: "a tab before the Transfer-Encoding value",
    request: post(["Transfer-Encoding:\tchunked"], `${S_HEX}\r\n${SMUGGLED}\r\n0\r\n\r\n`),
    expect: "served",
    bodyLength: S,
  },
  {
    // Transfer-coding names are case-insensitive (RFC 9112 §7).
    name: "Transfer-Encoding: CHUNKED",
    request: post(["Transfer-Encoding: CHUNKED"], `${S_HEX}\r\n${SMUGGLED}\r\n0\r\n\r\n`),
    expect: "served",
    bodyLength: S,
  },
  {
    name: "two Transfer-Encoding: chunked fields",
    request: post(
      ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
      `0\r\n\r\n${SMUGGLED}`,
    ),
    expect: 400,
  },
  {
    name: "Transfer-Encoding: gzip then Transfer-Encoding: chunked",
    request: post(
      ["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"],
      `0\r\n\r\n${SMUGGLED}`,
    ),
    expect: 501,
  },
  {
    name: "Transfer-Encoding: chunked then Transfer-Encoding: identity",
    request: post(
      ["Transfer-Encoding: chunked", "Transfer-Encoding: identity"],
      `0\r\n\r\n${SMUGGLED}`,
    ),
    expect: 400,
  },
  {
    name: "a Transfer-Encoding continued by obs-fold",
    request: post(["Transfer-Encoding: identity\r\n chunked"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "an empty Transfer-Encoding folded onto chunked",
    request: post(["Transfer-Encoding:\r\n\tchunked"], `0\r\n\r\n${SMUGGLED}`),
    expect: 400,
  },
  {
    name: "Transfer-Encoding in an HTTP/1.0 request",
    request: post(["Transfer-Encoding: chunked"], `0\r\n\r\n${SMUGGLED}`, "HTTP/1.0"),
    expect: 400,
  },
  {
    name: "a header line ending in a bare LF",
    request: `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: 400,
  },
  {
    name: "a header line ending in a bare CR",
    request:
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\rX: y\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: 400,
  },

  // Chunked body syntax (RFC 9112 §7.1). The head is valid, so the handler sees
  // the POST; the body fails as it reads it.
  {
    name: "chunk size -1",
    request: post(["Transfer-Encoding: chunked"], `-1\r\n${SMUGGLED}`),
    expect: 400,
    bodyError: true,
  },
  {
    name: "chunk size 0x10",
    request: post(["Transfer-Encoding: chunked"], `0x10\r\n${SMUGGLED}`),
    expect: 400,
    bodyError: true,
  },
  {
    name: "chunk size 1 0",
    request: post(["Transfer-Encoding: chunked"], `1 0\r\n${SMUGGLED}`),
    expect: 400,
    bodyError: true,
  },
  {
    name: "a chunk size of 16 hex digits",
    request: post(
      ["Transfer-Encoding: chunked"],
      `00000000000000${S_HEX}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
    ),
    expect: 400,
    bodyError: true,
  },
  {
    name: "a chunk size of 17 hex digits",
    request: post(["Transfer-Encoding: chunked"], `10000000000000000\r\n${SMUGGLED}`),
    expect: 400,
    bodyError: true,
  },
  {
    name: "a 15-digit chunk size beyond the body limit",
    request: post(["Transfer-Encoding: chunked"], `fffffffffffffff\r\n${SMUGGLED}`),
    expect: 413,
    bodyError: true,
  },
  {
    name: "an empty chunk size",
    request: post(["Transfer-Encoding: chunked"], `\r\n${SMUGGLED}`),
    expect: 400,
    bodyError: true,
  },
  {
    name: "chunk data without its CRLF",
    request: post(["Transfer-Encoding: chunked"], `5\r\nhello${SMUGGLED}`),
    expect: 400,
    bodyError: true,
  },
  {
    name: "chunk data longer than its size",
    request: post(["Transfer-Encoding: chunked"], `3\r\nhello\r\n0\r\n\r\n${SMUGGLED}`),
    expect: 400,
    bodyError: true,
  },
  {
    name: "chunked lines ending in a bare LF",
    request: post(["Transfer-Encoding: chunked"], `5\nhello\n0\n\n${SMUGGLED}`),
    expect: 400,
    bodyError: true,
  },
  {
    name: "a chunk extension with a bare CR",
    request: post(["Transfer-Encoding: chunked"], `5;a=b\rc\r\nhello\r\n0\r\n\r\n${SMUGGLED}`),
    expect: 400,
    bodyError: true,
  },
  {
    name: "a last chunk without the empty line",
    request: post(["Transfer-Encoding: chunked"], `0\r\n${SMUGGLED}`),
    expect: 400,
    bodyError: true,
  },
  {
    // The declared chunk swallows the second request as data, then waits for
    // bytes that never come.
    name: "a chunk size larger than the data",
    request: post(["Transfer-Encoding: chunked"], `100\r\nabc\r\n0\r\n\r\n${SMUGGLED}`),
    expect: 400,
    bodyError: true,
    halfClose: true,
  },
  {
    name: "a chunk size that covers the second request",
    request: post(["Transfer-Encoding: chunked"], `${S_HEX}\r\n${SMUGGLED}\r\n0\r\n\r\n`),
    expect: "served",
    bodyLength: S,
  },
];

/** What must come after a row that was served, on the same connection. */
const SENTINEL = "GET /sentinel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/** Resolves like `promise`, or fails after `ms` saying what did not happen. */
async function within<T>(promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

for (const row of CASES) {
  Deno.test(`serveConnection() does not answer bytes after ${row.name} as a request`, async () => {
    assert(row.request.includes(SMUGGLED), "the row must carry the smuggled request");
    const method = row.request.slice(0, row.request.indexOf(" "));
    const seen: string[] = [];
    const handler = async (request: Request): Promise<Response> => {
      const path = new URL(request.url).pathname;
      seen.push(`${request.method} ${path}`);
      const body = await request.arrayBuffer();
      return new Response(`${request.method} ${path} ${body.byteLength}`);
    };
    await withServer(async (port) => {
      const client = await RawClient.connect(port);
      try {
        await client.send(row.request);
        if (row.halfClose) await client.closeWrite();
        const first = await within(client.read(), "the first response");
        if (row.expect === "served") {
          assertEquals(first.status, 200, first.text);
          assertEquals(first.text, `${method} / ${row.bodyLength}`);
          // The next bytes the server parses must be ours, not the smuggled ones.
          await client.send(SENTINEL);
          const next = await within(client.read(), "the sentinel's response");
          assertEquals(next.text, "GET /sentinel 0");
        } else {
          assertEquals(first.status, row.expect, first.text);
          assertEquals(first.headers.get("connection"), "close");
        }
        // closedByServer() also fails on any byte sent after the last response.
        assert(await within(client.closedByServer(), "the close"));
      } finally {
        client.close();
      }
    }, { handler });
    assert(!seen.some((line) => line.includes("smuggled")), `the handler saw ${seen}`);
    // A refused head never reaches the handler; a head whose body fails does, once.
    const expected = row.expect === "served"
      ? [`${method} /`, "GET /sentinel"]
      : row.bodyError
      ? [`${method} /`]
      : [];
    assertEquals(seen, expected);
  });
}
