/**
 * Differential tests: each case's handler runs on `Deno.serve` (the runtime's
 * own HTTP server) and on Portico's `serve()`, the same requests go to both,
 * and what a client can observe must agree: status, the headers that matter,
 * framing and body bytes. Where the two differ by design, the difference is
 * written down next to the case and each side's own behaviour is asserted.
 *
 * An observation has two parts: `same`, which must be deep-equal on both
 * servers, and `own`, which holds the intended differences (null when there
 * are none). `expect` checks each side on its own, so that a case also fails
 * when both servers break in the same way.
 */

import * as zlib from "node:zlib";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_deps.ts";
import { silentLogger } from "../../lib/log.ts";
import { serve } from "../../lib/mod.ts";
import type { ResponseCompression } from "../../lib/encoding/response.ts";
import { concat, deadline, latin1, RawClient, READ_TIMEOUT_MS } from "../_helpers.ts";

type Side = "Deno.serve" | "serve()";

/** A handler both servers accept: it uses only the request. */
type AnyHandler = (request: Request) => Response | Promise<Response>;

/** What one server showed the client. */
interface Observation<Same, Own> {
  /** Must be deep-equal on both servers. */
  same: Same;
  /** The intended differences; null when there are none. */
  own: Own;
}

interface Case<Same = unknown, Own = unknown> {
  name: string;
  handler: AnyHandler;
  /**
   * Compress responses: Deno.serve with `automaticCompression`, serve() with
   * these codings and threshold (otherwise both send what the handler gives).
   */
  compress?: ResponseCompression;
  /** Sends the case's requests to the server on `port` and records what came back. */
  request: (port: number) => Promise<Observation<Same, Own>>;
  /** What each side must show on its own, intended differences included. */
  expect: (observation: Observation<Same, Own>, side: Side) => void;
}

/** Keeps each case's types inside the case, so the table can hold them all. */
function defineCase<Same, Own>(c: Case<Same, Own>): Case {
  return c as unknown as Case;
}

const KiB = 1024;
const MiB = 1024 * KiB;
/** How long a handler's stream waits for the client before giving up (a bound, never a pace). */
const GATE_TIMEOUT_MS = 5000;
/** How long a raw transcript waits for the server to close the connection. */
const TRANSCRIPT_TIMEOUT_MS = 5000;
/** Bounds every read loop over a response body. */
const MAX_READS = 100_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Deno.serve's own answer for a handler that throws, without its console.error. */
const denoDefaultError = (): Response => new Response("Internal Server Error", { status: 500 });

/**
 * Starts both servers with the case's handler, runs the case's requests
 * against Deno.serve and then serve(), and stops both servers.
 */
async function observeBoth(c: Case): Promise<Record<Side, Observation<unknown, unknown>>> {
  const reference = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      onError: denoDefaultError,
      automaticCompression: c.compress !== undefined,
    },
    c.handler,
  );
  // Deno.serve compresses only when asked to; serve() does by default, so
  // the cases without compression turn it off to compare like with like.
  const content = c.compress === undefined
    ? { compress: [] }
    : { compress: c.compress.codings, compressMinBytes: c.compress.minBytes };
  try {
    const portico = serve({
      handler: c.handler,
      content,
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      logger: silentLogger,
    });
    try {
      const deno = await c.request(reference.addr.port);
      const ours = await c.request(portico.addr.port);
      return { "Deno.serve": deno, "serve()": ours };
    } finally {
      await portico.shutdown();
    }
  } finally {
    await reference.shutdown();
  }
}

// ---------------------------------------------------------------------------
// Client-side helpers.

/** Hex SHA-256 of some bytes. */
async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Deterministic bytes that differ from piece to piece (xorshift32 from `seed`). */
function pseudoRandomBytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = (seed >>> 0) || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The response headers a comparison looks at: content and framing. */
const CONTENT_FIELDS = ["content-type", "content-length", "transfer-encoding", "content-encoding"];

/** The named fields of `headers`, null where absent. */
function pick(headers: Headers, names: readonly string[]): Record<string, string | null> {
  return Object.fromEntries(names.map((name) => [name, headers.get(name)]));
}

/** A fetch response, read to the end. */
interface Fetched {
  status: number;
  headers: Record<string, string | null>;
  body: string;
}

/** Fetches a path and reads the whole body as text. */
async function fetchText(
  port: number,
  path: string,
  init?: RequestInit,
  fields: readonly string[] = CONTENT_FIELDS,
): Promise<Fetched & { statusText: string; raw: Headers }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, init);
  const body = await response.text();
  return {
    status: response.status,
    statusText: response.statusText,
    headers: pick(response.headers, fields),
    body,
    raw: response.headers,
  };
}

/** Runs `fn` with a raw client connected to `port`, and closes it. */
async function withRaw<T>(port: number, fn: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect(port);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** A response as read off the wire until the server closed the connection. */
interface Transcript {
  version: string;
  status: number;
  reason: string;
  headers: Headers;
  /** Every byte after the head, framing included, as text. */
  rest: string;
}

/**
 * Sends `request` on a new connection and reads until the server closes it.
 * `RawClient` parses only `HTTP/1.1` status lines (Deno.serve answers an
 * HTTP/1.0 request with `HTTP/1.0`) and drops the bytes of a message that
 * ends early, so the cases that need either read the transcript instead.
 * `onData` sees the text received so far after every read. Throws if the
 * server has not closed the connection within {@linkcode TRANSCRIPT_TIMEOUT_MS}.
 */
async function transcript(
  port: number,
  request: string,
  onData?: (received: string) => void,
): Promise<Transcript> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, TRANSCRIPT_TIMEOUT_MS);
  const parts: Uint8Array[] = [];
  try {
    const bytes = latin1(request);
    let offset = 0;
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
    const buffer = new Uint8Array(64 * KiB);
    for (let reads = 0;; reads++) {
      assert(reads < MAX_READS, "too many reads for one transcript");
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch (error) {
        if (timedOut) throw new Error("the server did not close the connection");
        if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
        n = null;
      }
      if (n === null) break;
      parts.push(buffer.slice(0, n));
      onData?.(decoder.decode(concat(parts)));
    }
  } finally {
    clearTimeout(watchdog);
    try {
      conn.close();
    } catch {
      // Closed by the watchdog.
    }
  }
  const text = decoder.decode(concat(parts));
  const end = text.indexOf("\r\n\r\n");
  assert(end !== -1, `no complete head in ${JSON.stringify(text)}`);
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const match = /^HTTP\/(1\.[01]) (\d{3}) (.*)$/.exec(statusLine);
  assert(match !== null, `bad status line ${JSON.stringify(statusLine)}`);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return {
    version: match[1],
    status: Number(match[2]),
    reason: match[3],
    headers,
    rest: text.slice(end + 4),
  };
}

// ---------------------------------------------------------------------------
// Handler-side helpers.

/**
 * A one-shot signal from the test's client to a handler's stream, so a case
 * can make the stream wait until the client has seen its first bytes
 * without sleeping. `wait` gives up after {@linkcode GATE_TIMEOUT_MS}, so a
 * server that holds the bytes back fails the case instead of hanging it.
 */
class Gate {
  #opened = Promise.withResolvers<true>();

  open(): void {
    this.#opened.resolve(true);
  }

  /** Resolves to true when opened, false when it gave up. */
  async wait(): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const giveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), GATE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.#opened.promise, giveUp]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Options for {@linkcode pacedStream}. */
interface PacedOptions {
  /** Milliseconds between pieces (the first piece comes at once). */
  gapMs: number;
  /** Awaited before piece `index` is enqueued. */
  before?: (index: number) => Promise<void>;
  /** Called when the stream closes normally. */
  onClose?: () => void;
}

/**
 * A response body that produces `pieces` one at a time with a timer between
 * them, so neither server can know its length in advance. Cancelling it
 * clears its timer.
 */
function pacedStream(pieces: readonly string[], options: PacedOptions): ReadableStream<Uint8Array> {
  let index = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index > 0 && options.gapMs > 0) {
        await new Promise<void>((resolve) => {
          timer = setTimeout(resolve, options.gapMs);
        });
      }
      if (index === pieces.length) {
        controller.close();
        options.onClose?.();
        return;
      }
      await options.before?.(index);
      controller.enqueue(encoder.encode(pieces[index]));
      index++;
    },
    cancel() {
      clearTimeout(timer);
    },
  });
}

// ---------------------------------------------------------------------------
// The cases.

/** What the echo handler answers. */
interface Echo {
  method: string;
  url: string;
  headers: [string, string][];
  body: string;
}

const echoCase = defineCase({
  name: "an echo of method, URL, headers and body",
  handler: async (request) =>
    Response.json(
      {
        method: request.method,
        url: request.url,
        headers: [...request.headers],
        body: await request.text(),
      },
      { status: 201, headers: { "x-echo": "yes" } },
    ),
  request: async (port) => {
    /** The echo with this server's port replaced, so both servers' echoes compare. */
    const echo = (text: string): Echo => JSON.parse(text.replaceAll(`127.0.0.1:${port}`, "HOST"));

    const headers = new Headers({ "content-type": "application/json", "x-custom": "custom value" });
    headers.append("x-multi", "a");
    headers.append("x-multi", "b");
    const viaFetch = await fetchText(port, "/echo/a%20b/?q=1&q=2&x=%C3%A9", {
      method: "POST",
      headers,
      body: JSON.stringify({ greeting: "héllo", n: [1, 2, 3] }),
    }, [...CONTENT_FIELDS, "x-echo"]);

    // The raw client sends a field twice on separate lines, which fetch cannot.
    const raw = await withRaw(port, async (client) => {
      await client.send(
        "PUT /raw?x=1 HTTP/1.1\r\nHost: echo.test\r\nX-Multi: a\r\nX-Multi: b\r\n" +
          "Cookie: a=1\r\nCookie: b=2\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
      );
      const first = await client.read();
      await client.send("DELETE /raw/2 HTTP/1.1\r\nHost: echo.test\r\nConnection: close\r\n\r\n");
      const second = await client.read();
      return { first, second, closed: await client.closedByServer() };
    });
    const firstEcho = echo(raw.first.text);
    const cookie = firstEcho.headers.find(([name]) => name === "cookie")?.[1] ?? null;
    firstEcho.headers = firstEcho.headers.filter(([name]) => name !== "cookie");

    return {
      same: {
        fetch: { status: viaFetch.status, headers: viaFetch.headers, echo: echo(viaFetch.body) },
        raw: {
          first: { status: raw.first.status, echo: firstEcho },
          second: { status: raw.second.status, echo: echo(raw.second.text) },
          closed: raw.closed,
        },
      },
      own: { cookie, server: viaFetch.raw.get("server") },
    };
  },
  expect: ({ same, own }, side) => {
    assertEquals(same.fetch.status, 201);
    assertEquals(same.fetch.headers["x-echo"], "yes");
    assertEquals(same.fetch.headers["content-type"], "application/json");
    const echo = same.fetch.echo;
    assertEquals(echo.method, "POST");
    assertEquals(echo.url, "http://HOST/echo/a%20b/?q=1&q=2&x=%C3%A9");
    assertEquals(JSON.parse(echo.body), { greeting: "héllo", n: [1, 2, 3] });
    const fields = new Map<string, string>(echo.headers);
    assertEquals(fields.get("x-multi"), "a, b");
    assertEquals(fields.get("x-custom"), "custom value");
    assertEquals(fields.get("host"), "HOST");

    const raw = same.raw.first.echo;
    assertEquals(raw.method, "PUT");
    assertEquals(raw.url, "http://echo.test/raw?x=1");
    assertEquals(new Map(raw.headers).get("x-multi"), "a, b", "a repeated field is combined");
    assertEquals(same.raw.second.echo.method, "DELETE");
    assert(same.raw.closed);

    // Two Cookie lines reach the handler as one field joined with "; " on
    // both servers (the HTTP/2 rule, RFC 9113 §8.2.3), so a cookie parser
    // reads two cookies.
    assertEquals(own.cookie, "a=1; b=2");
    // Intended: Portico names itself in `Server` (unless the handler sets
    // one); Deno.serve sends no Server field.
    if (side === "Deno.serve") assertEquals(own.server, null);
    else assertMatch(own.server ?? "", /^portico\//);
  },
});

const DOWNLOAD_PIECE = 64 * KiB;
const DOWNLOAD_PIECES = 128; // 8 MiB
/** Piece `index` of the download. */
const downloadPiece = (index: number) => pseudoRandomBytes(DOWNLOAD_PIECE, 0x9e3779b9 ^ index);
const DOWNLOAD_SHA256 = await sha256(
  concat(Array.from({ length: DOWNLOAD_PIECES }, (_, i) => downloadPiece(i))),
);

const downloadCase = defineCase({
  name: "an 8 MiB download streamed in 64 KiB pieces",
  handler: () => {
    let index = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(downloadPiece(index++));
        if (index === DOWNLOAD_PIECES) controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "application/octet-stream" } });
  },
  request: async (port) => {
    const response = await fetch(`http://127.0.0.1:${port}/download`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    return {
      same: {
        status: response.status,
        headers: pick(response.headers, CONTENT_FIELDS),
        length: bytes.length,
        sha256: await sha256(bytes),
      },
      own: null,
    };
  },
  expect: ({ same }) => {
    assertEquals(same.status, 200);
    assertEquals(same.headers["transfer-encoding"], "chunked");
    assertEquals(same.headers["content-length"], null);
    assertEquals(same.length, 8 * MiB);
    assertEquals(same.sha256, DOWNLOAD_SHA256, "the bytes are the handler's, in order");
  },
});

const UPLOAD = pseudoRandomBytes(MiB + 12_345, 42);
const UPLOAD_PIECE = 10_000;
const UPLOAD_SHA256 = await sha256(UPLOAD);

const uploadCase = defineCase({
  name: "a chunked upload",
  handler: async (request) => {
    const body = new Uint8Array(await request.arrayBuffer());
    return Response.json({
      length: body.length,
      sha256: await sha256(body),
      text: body.length < 100 ? decoder.decode(body) : null,
      transferEncoding: request.headers.get("transfer-encoding"),
      contentLength: request.headers.get("content-length"),
    });
  },
  request: async (port) => {
    let offset = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(UPLOAD.slice(offset, offset + UPLOAD_PIECE));
        offset += UPLOAD_PIECE;
        if (offset >= UPLOAD.length) controller.close();
      },
    });
    // `duplex` is in the Fetch standard but not in Deno's RequestInit type.
    const init: RequestInit & { duplex: "half" } = { method: "POST", body, duplex: "half" };
    const viaFetch = await fetchText(port, "/upload", init);

    // Chunk sizes in mixed case, a chunk extension and a trailer field.
    const raw = await withRaw(port, async (client) => {
      await client.send(
        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "5;name=value\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Trailer: t\r\n\r\n",
      );
      return await client.read();
    });
    return {
      same: {
        fetch: { status: viaFetch.status, echo: JSON.parse(viaFetch.body) },
        raw: { status: raw.status, echo: JSON.parse(raw.text) },
      },
      own: null,
    };
  },
  expect: ({ same }) => {
    assertEquals(same.fetch.status, 200);
    assertEquals(same.fetch.echo, {
      length: UPLOAD.length,
      sha256: UPLOAD_SHA256,
      text: null,
      transferEncoding: "chunked",
      contentLength: null,
    });
    assertEquals(same.raw.status, 200);
    assertEquals(same.raw.echo.text, "hello, chunked!");
    assertEquals(same.raw.echo.length, 15);
  },
});

const SLOW_PIECES = ["tick 0\n", "tick 1\n", "tick 2\n", "tick 3\n", "tick 4\n"];

/**
 * A stream whose pieces come 15 ms apart; the last one also waits until the
 * client has read the first, which proves the server sends pieces as they
 * come rather than collecting the body.
 */
function slowStreamCase(): Case {
  let gate = new Gate();
  let gateOpened: boolean | null = null;
  let streamClosed = false;
  return defineCase({
    name: "a slow stream",
    handler: () => {
      const mine = gate;
      const body = pacedStream(SLOW_PIECES, {
        gapMs: 15,
        before: async (index) => {
          if (index === SLOW_PIECES.length - 1) gateOpened = await mine.wait();
        },
        onClose: () => {
          streamClosed = true;
        },
      });
      return new Response(body, { headers: { "content-type": "application/octet-stream" } });
    },
    request: async (port) => {
      gate = new Gate();
      gateOpened = null;
      streamClosed = false;
      const response = await fetch(`http://127.0.0.1:${port}/slow`);
      const reader = response.body!.getReader();
      const parts: Uint8Array[] = [];
      let firstWhileOpen: boolean | null = null;
      for (let reads = 0;; reads++) {
        assert(reads < MAX_READS, "too many reads");
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        if (firstWhileOpen === null) {
          firstWhileOpen = !streamClosed;
          gate.open();
        }
      }
      return {
        same: {
          status: response.status,
          headers: pick(response.headers, CONTENT_FIELDS),
          body: decoder.decode(concat(parts)),
          firstWhileOpen,
          gateOpened,
        },
        own: null,
      };
    },
    expect: ({ same }) => {
      assertEquals(same.status, 200);
      assertEquals(same.headers["transfer-encoding"], "chunked");
      assertEquals(same.headers["content-length"], null);
      assertEquals(same.body, SLOW_PIECES.join(""));
      assertEquals(same.firstWhileOpen, true, "the first piece arrives before the stream ends");
      assertEquals(same.gateOpened, true);
    },
  });
}

const COOKIES = ["session=abc; Path=/; HttpOnly", "id=7; Expires=Wed, 21 Oct 2037 07:28:00 GMT"];

const cookieCase = defineCase({
  name: "Set-Cookie twice",
  handler: () => {
    const headers = new Headers({ "content-type": "text/plain" });
    for (const cookie of COOKIES) headers.append("set-cookie", cookie);
    return new Response("cookies", { headers });
  },
  request: async (port) => {
    const viaFetch = await fetchText(port, "/cookies");
    const raw = await withRaw(port, async (client) => {
      await client.send("GET /cookies HTTP/1.1\r\nHost: a\r\n\r\n");
      return await client.read();
    });
    return {
      same: {
        status: viaFetch.status,
        headers: viaFetch.headers,
        body: viaFetch.body,
        setCookie: viaFetch.raw.getSetCookie(),
        rawSetCookieLines: raw.fieldNames.filter((name) => name === "set-cookie").length,
        rawSetCookie: raw.headers.getSetCookie(),
      },
      own: null,
    };
  },
  expect: ({ same }) => {
    assertEquals(same.status, 200);
    assertEquals(same.setCookie, COOKIES);
    assertEquals(same.rawSetCookieLines, 2, "one field line per cookie");
    assertEquals(same.rawSetCookie, COOKIES);
    assertEquals(same.body, "cookies");
  },
});

const noBodyCase = defineCase({
  name: "204 and 304 without a body",
  handler: (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/204") return new Response(null, { status: 204, headers: { "x-kind": "none" } });
    if (path === "/304") {
      return new Response(null, {
        status: 304,
        headers: { etag: '"v1"', "cache-control": "max-age=60" },
      });
    }
    return new Response("after");
  },
  request: async (port) => {
    const fields = [...CONTENT_FIELDS, "x-kind", "etag", "cache-control"];
    // Three requests on one connection: a stray body byte after 204 or 304
    // would be read as the next status line.
    const raw = await withRaw(port, async (client) => {
      const seen = [];
      for (const path of ["/204", "/304", "/after"]) {
        await client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\nIf-None-Match: "v1"\r\n\r\n`);
        const response = await client.read();
        seen.push({
          status: response.status,
          reason: response.reason,
          headers: pick(response.headers, fields),
          body: response.text,
        });
      }
      return seen;
    });
    const viaFetch = [];
    for (const path of ["/204", "/304"]) {
      const { status, headers, body } = await fetchText(port, path, undefined, fields);
      viaFetch.push({ status, headers, body });
    }
    return { same: { raw, fetch: viaFetch }, own: null };
  },
  expect: ({ same }) => {
    const [noContent, notModified, after] = same.raw;
    assertEquals(noContent.status, 204);
    assertEquals(noContent.headers["content-length"], null, "RFC 9110 §8.6: none on 204");
    assertEquals(noContent.headers["transfer-encoding"], null);
    assertEquals(noContent.headers["x-kind"], "none");
    assertEquals(notModified.status, 304);
    assertEquals(notModified.headers.etag, '"v1"');
    assertEquals(notModified.headers["cache-control"], "max-age=60");
    assertEquals(after.body, "after");
    assertEquals(same.fetch.map((r) => [r.status, r.body]), [[204, ""], [304, ""]]);
  },
});

const statusTextCase = defineCase({
  name: "a custom status text",
  handler: () => new Response("x", { status: 299, statusText: "Custom Thing" }),
  request: async (port) => {
    const raw = await withRaw(port, async (client) => {
      await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      return await client.read();
    });
    const viaFetch = await fetchText(port, "/");
    return {
      same: {
        raw: { status: raw.status, headers: pick(raw.headers, CONTENT_FIELDS), body: raw.text },
        fetch: {
          status: viaFetch.status,
          statusText: viaFetch.statusText,
          headers: viaFetch.headers,
          body: viaFetch.body,
        },
      },
      own: { reason: raw.reason },
    };
  },
  expect: ({ same, own }, side) => {
    assertEquals(same.raw.status, 299);
    assertEquals(same.raw.body, "x");
    assertEquals(same.fetch.body, "x");
    // Deno's fetch reports the canonical phrase for the code, never the one
    // sent (there is none for 299), so only the raw client sees the difference.
    assertEquals(same.fetch.statusText, "");
    // Intended difference: Deno.serve drops the handler's reason phrase and
    // sends `HTTP/1.1 299 ` (an empty reason, which RFC 9112 §4 allows);
    // Portico keeps it. Clients are to ignore the phrase either way.
    assertEquals(own.reason, side === "Deno.serve" ? "" : "Custom Thing");
  },
});

const throwCase = defineCase({
  name: "a handler that throws",
  handler: (request) => {
    if (new URL(request.url).pathname === "/boom") throw new Error("boom");
    return new Response("still serving");
  },
  request: async (port) => {
    const failed = await fetchText(port, "/boom");
    const next = await fetchText(port, "/next");
    return {
      same: { status: failed.status, next: { status: next.status, body: next.body } },
      own: { contentType: failed.headers["content-type"], body: failed.body },
    };
  },
  expect: ({ same, own }, side) => {
    assertEquals(same.status, 500);
    assertEquals(same.next, { status: 200, body: "still serving" });
    // Intended difference: the 500 body. Deno.serve's default is plain text;
    // Portico answers with its small HTML error page.
    if (side === "Deno.serve") {
      assertEquals(own, { contentType: "text/plain;charset=UTF-8", body: "Internal Server Error" });
    } else {
      assertEquals(own.contentType, "text/html; charset=utf-8");
      assertStringIncludes(own.body, "<h1>500 Internal Server Error</h1>");
      assert(!own.body.includes("boom"), "the error message is not shown to the client");
    }
  },
});

const FIRST_PIECE = "first piece of a body that fails\n";

/**
 * A body that sends one piece and then errors; the error waits until the
 * client has the piece, so "some bytes were sent" does not depend on timing.
 */
function midwayErrorCase(): Case {
  let gate = new Gate();
  const gateOpened: boolean[] = [];
  return defineCase({
    name: "a body stream that errors midway",
    handler: () => {
      const mine = gate;
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(encoder.encode(FIRST_PIECE));
            return;
          }
          gateOpened.push(await mine.wait());
          controller.error(new Error("the body failed midway"));
        },
      });
      return new Response(body, { headers: { "content-type": "text/plain" } });
    },
    request: async (port) => {
      // fetch: the head arrives, the first piece is read, then reading fails.
      gateOpened.length = 0;
      gate = new Gate();
      const response = await fetch(`http://127.0.0.1:${port}/fails`);
      const reader = response.body!.getReader();
      const parts: Uint8Array[] = [];
      let rejected = false;
      try {
        for (let reads = 0;; reads++) {
          assert(reads < MAX_READS, "too many reads");
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
          if (decoder.decode(concat(parts)).includes(FIRST_PIECE)) gate.open();
        }
      } catch {
        rejected = true;
      }

      // Raw HTTP/1.1 without Connection: close: whatever ends the
      // connection is the failure, not the request.
      gate = new Gate();
      const current = gate;
      const raw = await transcript(port, "GET /fails HTTP/1.1\r\nHost: a\r\n\r\n", (received) => {
        if (received.includes(FIRST_PIECE)) current.open();
      });
      return {
        same: {
          fetch: {
            status: response.status,
            headers: pick(response.headers, CONTENT_FIELDS),
            received: decoder.decode(concat(parts)),
            rejected,
          },
          raw: {
            version: raw.version,
            status: raw.status,
            headers: pick(raw.headers, CONTENT_FIELDS),
            includesPiece: raw.rest.includes(FIRST_PIECE),
            endsWithLastChunk: raw.rest.endsWith("0\r\n\r\n"),
          },
          gateOpened: [...gateOpened],
        },
        own: null,
      };
    },
    expect: ({ same }) => {
      assertEquals(same.fetch.status, 200);
      assertEquals(same.fetch.received, FIRST_PIECE);
      assertEquals(same.fetch.rejected, true, "reading the body fails");
      assertEquals(same.raw.status, 200);
      assertEquals(same.raw.headers["transfer-encoding"], "chunked");
      assert(same.raw.includesPiece, "the piece before the failure is sent");
      assert(!same.raw.endsWithLastChunk, "no last chunk: the message is incomplete");
      // transcript() returning at all means the server closed the connection.
      assertEquals(same.gateOpened, [true, true], "each failure came after the client had bytes");
    },
  });
}

const HEAD_TEXT = "a body known in full\n";
const HEAD_PIECES = ["one\n", "two\n", "three\n"];

const headCase = defineCase({
  name: "HEAD for a string body and for a streamed body",
  handler: (request) =>
    new URL(request.url).pathname === "/text"
      ? new Response(HEAD_TEXT)
      : new Response(pacedStream(HEAD_PIECES, { gapMs: 5 }), {
        headers: { "content-type": "text/plain" },
      }),
  request: async (port) => {
    // HEAD and GET alternate on one connection: a body after a HEAD answer
    // would be read as the next status line.
    const raw = await withRaw(port, async (client) => {
      const seen = [];
      for (const [method, path] of [["HEAD", "/text"], ["GET", "/text"], ["HEAD", "/stream"]]) {
        await client.send(`${method} ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
        const response = await client.read(method === "HEAD");
        seen.push({
          status: response.status,
          headers: pick(response.headers, CONTENT_FIELDS),
          body: response.text,
        });
      }
      await client.send("GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      const streamed = await client.read();
      seen.push({
        status: streamed.status,
        headers: pick(streamed.headers, CONTENT_FIELDS),
        body: streamed.text,
      });
      return { seen, leftover: client.pending, closed: await client.closedByServer() };
    });
    const { status, headers, body } = await fetchText(port, "/text", { method: "HEAD" });
    return { same: { raw, fetch: { status, headers, body } }, own: null };
  },
  expect: ({ same }) => {
    const [headText, getText, headStream, getStream] = same.raw.seen;
    assertEquals(getText.body, HEAD_TEXT);
    assertEquals(headText.status, 200);
    assertEquals(headText.headers["content-length"], String(HEAD_TEXT.length));
    assertEquals(headText.headers["content-type"], getText.headers["content-type"]);
    assertEquals(headText.body, "");
    assertEquals(headStream.status, 200);
    assertEquals(headStream.headers["content-length"], null, "a stream's length is not known");
    assertEquals(headStream.headers["transfer-encoding"], null);
    assertEquals(headStream.headers["content-type"], "text/plain");
    assertEquals(getStream.headers["transfer-encoding"], "chunked");
    assertEquals(getStream.body, HEAD_PIECES.join(""));
    assertEquals(same.raw.leftover, 0);
    assert(same.raw.closed);
    assertEquals(same.fetch.headers["content-length"], String(HEAD_TEXT.length));
    assertEquals(same.fetch.body, "");
  },
});

const OLD_PIECES = ["closed ", "at the ", "end\n"];

const http10Case = defineCase({
  name: "an HTTP/1.0 request for a streamed body",
  handler: () =>
    new Response(pacedStream(OLD_PIECES, { gapMs: 5 }), {
      headers: { "content-type": "text/plain" },
    }),
  request: async (port) => {
    const raw = await transcript(port, "GET /old HTTP/1.0\r\nHost: a\r\n\r\n");
    return {
      same: {
        status: raw.status,
        reason: raw.reason,
        headers: pick(raw.headers, CONTENT_FIELDS),
        body: raw.rest,
      },
      own: { version: raw.version, connection: raw.headers.get("connection") },
    };
  },
  expect: ({ same, own }, side) => {
    assertEquals(same.status, 200);
    assertEquals(same.headers["transfer-encoding"], null, "no chunked coding for HTTP/1.0");
    assertEquals(same.headers["content-length"], null);
    // transcript() read to the server's close: the body is close-delimited.
    assertEquals(same.body, OLD_PIECES.join(""));
    // Intended difference: the version in the status line. Deno.serve
    // answers HTTP/1.0 with `HTTP/1.0`; Portico always sends `HTTP/1.1`,
    // which RFC 9110 §6.2 allows (a server sends its own version, and the
    // client reads only what 1.0 understands), and it says `Connection: close`.
    if (side === "Deno.serve") assertEquals(own, { version: "1.0", connection: null });
    else assertEquals(own, { version: "1.1", connection: "close" });
  },
});

const declaredLengthCase = defineCase({
  name: "a streamed body with the handler's own Content-Length",
  handler: () =>
    new Response(pacedStream(["abc", "def", "ghi"], { gapMs: 5 }), {
      headers: { "content-type": "text/plain", "content-length": "9" },
    }),
  request: async (port) => {
    const raw = await withRaw(port, async (client) => {
      const seen = [];
      for (const method of ["GET", "HEAD"]) {
        await client.send(`${method} / HTTP/1.1\r\nHost: a\r\n\r\n`);
        const response = await client.read(method === "HEAD");
        seen.push({ headers: pick(response.headers, CONTENT_FIELDS), body: response.text });
      }
      return seen;
    });
    return { same: raw, own: null };
  },
  expect: ({ same }) => {
    const [get, head] = same;
    assertEquals(get.headers["content-length"], "9");
    assertEquals(get.headers["transfer-encoding"], null);
    assertEquals(get.body, "abcdefghi");
    assertEquals(head.headers["content-length"], "9");
    assertEquals(head.body, "");
  },
});

const completeStreamCase = defineCase({
  name: "a body that is complete before it is sent",
  handler: (request) => {
    if (new URL(request.url).pathname === "/blob") {
      return new Response(new Blob(["blob"], { type: "application/x-blob" }));
    }
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode("ready"));
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  },
  request: async (port) => {
    const raw = await withRaw(port, async (client) => {
      const seen = [];
      for (const path of ["/blob", "/ready"]) {
        await client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
        seen.push(await client.read());
      }
      return seen;
    });
    return {
      same: raw.map((r) => ({
        status: r.status,
        contentType: r.headers.get("content-type"),
        body: r.text,
      })),
      own: raw.map((r) => pick(r.headers, ["content-length", "transfer-encoding"])),
    };
  },
  expect: ({ same, own }, side) => {
    assertEquals(same, [
      { status: 200, contentType: "application/x-blob", body: "blob" },
      { status: 200, contentType: "text/plain", body: "ready" },
    ]);
    // Intended difference (lib/http/response.ts, writeResponse): a body
    // stream whose bytes are all there when writing starts (a Blob, a stream
    // closed in `start`) gets a Content-Length from Portico; Deno.serve
    // sends it chunked like any stream. Both frame the same bytes.
    if (side === "Deno.serve") {
      const chunked = { "content-length": null, "transfer-encoding": "chunked" };
      assertEquals(own, [chunked, chunked]);
    } else {
      assertEquals(own, [
        { "content-length": "4", "transfer-encoding": null },
        { "content-length": "5", "transfer-encoding": null },
      ]);
    }
  },
});

const asteriskCase = defineCase({
  name: "OPTIONS *",
  handler: (request) =>
    new Response(`handler saw ${request.method} ${new URL(request.url).pathname}`),
  request: async (port) => {
    const raw = await withRaw(port, async (client) => {
      await client.send("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
      const asterisk = await client.read();
      await client.send("GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      const after = await client.read();
      return { asterisk, after, closed: await client.closedByServer() };
    });
    return {
      same: { after: raw.after.text, closed: raw.closed },
      own: { status: raw.asterisk.status, body: raw.asterisk.text },
    };
  },
  expect: ({ same, own }, side) => {
    assertEquals(same, { after: "handler saw GET /after", closed: true });
    // Intended difference: Portico answers `OPTIONS *` (a question about the
    // server, RFC 9110 §9.3.7) itself with 204 and never calls the handler;
    // Deno.serve hands it to the handler as the path "/*".
    if (side === "Deno.serve") assertEquals(own, { status: 200, body: "handler saw OPTIONS /*" });
    else assertEquals(own, { status: 204, body: "" });
  },
});

// ---------------------------------------------------------------------------
// Compression: Deno.serve with `automaticCompression: true` against serve()
// with its own compression of application responses (compressAppResponse()
// in lib/encoding/response.ts), given Deno's 64-byte threshold.
//
// Both skip a body known to be small: Deno.serve one whose size it knows,
// serve() one complete within a turn of the event loop or with a declared
// Content-Length (the server's default threshold is 1024 bytes).
// Intended differences, each asserted per side in the cases below:
// - zstd. Deno.serve offers br and gzip only; Portico offers zstd as well,
//   so `Accept-Encoding: zstd` gets zstd rather than identity.
// - Vary on identity. Deno.serve says `Vary: Accept-Encoding` only on a
//   compressed response; Portico says it on every response whose coding
//   depended on Accept-Encoding, including the identity answer to a client
//   that accepts none (RFC 9110 §12.5.5), so a cache never hands that
//   answer's absence of Vary to others.
// - Smaller ones, covered in tests/encoding/response_test.ts: Deno prepends
//   Accept-Encoding to an existing Vary (Portico appends, and leaves `*`
//   alone); Deno compresses a 206 without Content-Range and ignores
//   no-transform beside a malformed max-age (Portico does neither); Portico
//   drops Accept-Ranges from a compressed response.
// - Framing. Both send the encoded bytes; Portico may frame a body complete
//   at once with Content-Length where Deno.serve uses chunked (see
//   completeStreamCase), so framing is not compared here.

/** Deno.serve's threshold, so that the two sides are compared on the same rule. */
const COMPRESSION: ResponseCompression = { codings: ["br", "zstd", "gzip"], minBytes: 64 };

const BIG_JSON = {
  items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item number ${i}`, ok: i % 2 })),
};
const HTML_PAGE = `<!doctype html><title>t</title><ul>${"<li>an item</li>\n".repeat(120)}</ul>`;
const STREAM_PIECES = ["streamed line one\n", "streamed line two\n".repeat(20), "the end\n"];
const PNG_BYTES = pseudoRandomBytes(3 * KiB, 0x89504e47);
const NO_TRANSFORM_TEXT = "do not transform this text\n".repeat(40);
const TINY_TEXT = "tiny text\n";
const GZIPPED_PAGE = new Uint8Array(zlib.gzipSync(encoder.encode(HTML_PAGE)));

/** The handler's routes: every one but /tiny above 64 bytes. */
const compressionRoutes: Record<string, () => Response | Promise<Response>> = {
  "/json": () => Response.json(BIG_JSON),
  "/html": () => new Response(HTML_PAGE, { headers: { "content-type": "text/html" } }),
  "/stream": () =>
    new Response(pacedStream(STREAM_PIECES, { gapMs: 5 }), {
      headers: { "content-type": "text/plain; charset=utf-8" },
    }),
  "/png": () => new Response(PNG_BYTES, { headers: { "content-type": "image/png" } }),
  "/encoded": () =>
    new Response(GZIPPED_PAGE, {
      headers: { "content-type": "text/html", "content-encoding": "gzip" },
    }),
  "/no-transform": () =>
    new Response(NO_TRANSFORM_TEXT, {
      headers: { "content-type": "text/plain", "cache-control": "no-transform" },
    }),
  "/tiny": () => new Response(TINY_TEXT),
};

/** What each route's body decodes to. */
const compressionTexts: Record<string, string> = {
  "/json": JSON.stringify(BIG_JSON),
  "/html": HTML_PAGE,
  "/stream": STREAM_PIECES.join(""),
  "/png": decoder.decode(PNG_BYTES),
  "/encoded": HTML_PAGE,
  "/no-transform": NO_TRANSFORM_TEXT,
  "/tiny": TINY_TEXT,
};

/** A complete body in `coding` ("gzip", "br", "zstd" or none), decoded. */
function decodeBody(coding: string | null, body: Uint8Array): Uint8Array {
  switch (coding) {
    case null:
      return body;
    case "gzip":
      return new Uint8Array(zlib.gunzipSync(body));
    case "br":
      return new Uint8Array(zlib.brotliDecompressSync(body));
    case "zstd":
      return new Uint8Array(zlib.zstdDecompressSync(body));
    default:
      throw new Error(`unexpected content coding ${coding}`);
  }
}

/** One compressed exchange as the client saw it. */
interface Decoded {
  status: number;
  encoding: string | null;
  vary: string | null;
  text: string;
}

/** Sends GET `path` with `accept` (none when null) and decodes the answer. */
async function getDecoded(
  client: RawClient,
  path: string,
  accept: string | null,
): Promise<Decoded> {
  const field = accept === null ? "" : `Accept-Encoding: ${accept}\r\n`;
  await client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n${field}\r\n`);
  const response = await client.read();
  const encoding = response.headers.get("content-encoding");
  return {
    status: response.status,
    encoding,
    vary: response.headers.get("vary"),
    text: decoder.decode(decodeBody(encoding, response.body)),
  };
}

const compressionCase = defineCase({
  name: "compressible and incompressible bodies for gzip and br",
  compress: COMPRESSION,
  handler: (request) => {
    const route = compressionRoutes[new URL(request.url).pathname];
    return route === undefined ? new Response("not found", { status: 404 }) : route();
  },
  request: async (port) => {
    const decoded = await withRaw(port, async (client) => {
      const seen: Record<string, Decoded> = {};
      for (const path of Object.keys(compressionRoutes)) {
        for (const accept of ["gzip", "br"]) {
          seen[`${path} ${accept}`] = await getDecoded(client, path, accept);
        }
      }
      for (const accept of [null, "zstd", "gzip, deflate, br, zstd", "gzip;q=0"]) {
        seen[`/json ${accept}`] = await getDecoded(client, "/json", accept);
      }
      return seen;
    });
    const own: Record<string, Decoded> = {};
    for (const key of ["/tiny gzip", "/tiny br", "/json null", "/json zstd", "/json gzip;q=0"]) {
      own[key] = decoded[key];
      delete decoded[key];
    }
    return { same: decoded, own };
  },
  expect: ({ same, own }, side) => {
    const both = { ...same, ...own };
    for (const [key, seen] of Object.entries(both)) {
      const path = key.slice(0, key.indexOf(" "));
      assertEquals(seen.status, 200, key);
      assertEquals(seen.text, compressionTexts[path], `${key}: the decoded body`);
    }
    for (const accept of ["gzip", "br"]) {
      for (const path of ["/json", "/html", "/stream"]) {
        assertEquals(same[`${path} ${accept}`].encoding, accept, `${path} ${accept}`);
        assertEquals(same[`${path} ${accept}`].vary, "Accept-Encoding", `${path} ${accept}`);
      }
      for (const path of ["/png", "/no-transform"]) {
        assertEquals(same[`${path} ${accept}`].encoding, null, `${path} ${accept}`);
        assertEquals(same[`${path} ${accept}`].vary, null, `${path} ${accept}`);
      }
      // Already encoded: passed on untouched, whatever the client accepts.
      assertEquals(same[`/encoded ${accept}`].encoding, "gzip");
      assertEquals(same[`/encoded ${accept}`].vary, null);
    }
    assertEquals(same["/json gzip, deflate, br, zstd"].encoding, "br");

    // Intended differences (see the notes above compressionCase).
    const identity = (vary: string | null) => ({
      status: 200,
      encoding: null,
      vary,
      text: compressionTexts["/json"],
    });
    const tinyAs = (encoding: string | null) => ({
      status: 200,
      encoding,
      vary: encoding === null ? null : "Accept-Encoding",
      text: TINY_TEXT,
    });
    if (side === "Deno.serve") {
      assertEquals(own, {
        "/tiny gzip": tinyAs(null),
        "/tiny br": tinyAs(null),
        "/json null": identity(null),
        "/json zstd": identity(null),
        "/json gzip;q=0": identity(null),
      });
    } else {
      assertEquals(own, {
        "/tiny gzip": tinyAs(null),
        "/tiny br": tinyAs(null),
        "/json null": identity("Accept-Encoding"),
        "/json zstd": { ...identity("Accept-Encoding"), encoding: "zstd" },
        "/json gzip;q=0": identity("Accept-Encoding"),
      });
    }
  },
});

const SSE_EVENTS = ["data: first\n\n", "event: tick\ndata: second\n\n", "data: third\n\n"];

/**
 * Reads a chunked response whose body may be compressed, feeding each chunk
 * to a streaming decompressor (none for identity); `onText` sees the decoded
 * text after every read. Every read has a deadline.
 */
async function readCompressedStream(
  port: number,
  request: string,
  onText: (text: string) => void,
): Promise<{ status: number; headers: Headers; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let z: zlib.Gunzip | zlib.BrotliDecompress | zlib.ZstdDecompress | null = null;
  try {
    const bytes = latin1(request);
    let offset = 0;
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
    let buffer = new Uint8Array(0);
    let head: { status: number; headers: Headers } | null = null;
    const decoded: Uint8Array[] = [];
    const chunk = new Uint8Array(64 * KiB);
    for (let reads = 0;; reads++) {
      assert(reads < MAX_READS, "too many reads");
      const n = await deadline(conn.read(chunk), READ_TIMEOUT_MS, "no bytes in time");
      assert(n !== null, "the server closed the connection before the last chunk");
      buffer = concat([buffer, chunk.subarray(0, n)]);
      if (head === null) {
        const end = decoder.decode(buffer).indexOf("\r\n\r\n");
        if (end === -1) continue;
        const [statusLine, ...lines] = decoder.decode(buffer.subarray(0, end)).split("\r\n");
        const headers = new Headers();
        for (const line of lines) {
          const colon = line.indexOf(":");
          headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
        }
        head = { status: Number(statusLine.split(" ")[1]), headers };
        assertEquals(headers.get("transfer-encoding"), "chunked", "a stream is sent chunked");
        const coding = headers.get("content-encoding");
        z = coding === "br"
          ? zlib.createBrotliDecompress()
          : coding === "zstd"
          ? zlib.createZstdDecompress()
          : coding === "gzip"
          ? zlib.createGunzip()
          : null;
        assert(z !== null || coding === null, `an unexpected coding ${coding}`);
        z?.on("data", (piece: Uint8Array) => decoded.push(new Uint8Array(piece)));
        buffer = buffer.slice(end + 4);
      }
      // Every complete chunk in the buffer goes to the decompressor.
      while (true) {
        const lineEnd = buffer.indexOf(0x0a);
        if (lineEnd === -1) break;
        const size = parseInt(decoder.decode(buffer.subarray(0, lineEnd)), 16);
        if (buffer.length < lineEnd + 1 + size + 2) break;
        const payload = buffer.slice(lineEnd + 1, lineEnd + 1 + size);
        buffer = buffer.slice(lineEnd + 1 + size + 2);
        if (size === 0) return { ...head, text: decoder.decode(concat(decoded)) };
        const decompressor = z;
        if (decompressor === null) {
          decoded.push(payload);
          continue;
        }
        await new Promise<void>((resolve, reject) => {
          decompressor.write(payload, (error) => error ? reject(error) : resolve());
        });
      }
      onText(decoder.decode(concat(decoded)));
    }
  } finally {
    z?.destroy();
    conn.close();
  }
}

/**
 * Server-sent events: each event must reach the client, decodable, before
 * the handler produces the next (it waits for the client to have it).
 */
function sseCase(): Case {
  let gates: Gate[] = [];
  const gateOpened: boolean[] = [];
  return defineCase({
    name: "server-sent events compressed with gzip and br",
    compress: COMPRESSION,
    handler: () => {
      const mine = gates;
      let index = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (index > 0) gateOpened.push(await mine[index - 1].wait());
          if (index === SSE_EVENTS.length) return controller.close();
          controller.enqueue(encoder.encode(SSE_EVENTS[index++]));
        },
      });
      return new Response(body, {
        headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
      });
    },
    request: async (port) => {
      const same: Record<string, unknown> = {};
      const own: Record<string, unknown> = {};
      for (const accept of ["gzip", "br"]) {
        gateOpened.length = 0;
        const current = SSE_EVENTS.map(() => new Gate());
        gates = current;
        const seen: string[] = [];
        const response = await readCompressedStream(
          port,
          `GET /events HTTP/1.1\r\nHost: a\r\nAccept-Encoding: ${accept}\r\nConnection: close\r\n\r\n`,
          (text) => {
            // The client opens event i's gate once it has decoded events 0..i.
            for (let i = 0; i < SSE_EVENTS.length; i++) {
              if (text === SSE_EVENTS.slice(0, i + 1).join("")) {
                if (seen.at(-1) !== text) seen.push(text);
                current[i].open();
              }
            }
          },
        );
        same[accept] = {
          status: response.status,
          text: response.text,
          seen,
          gateOpened: [...gateOpened],
        };
        own[accept] = {
          encoding: response.headers.get("content-encoding"),
          vary: response.headers.get("vary"),
        };
      }
      return { same, own };
    },
    expect: ({ same, own }, side) => {
      const expected = {
        status: 200,
        text: SSE_EVENTS.join(""),
        seen: SSE_EVENTS.map((_, i) => SSE_EVENTS.slice(0, i + 1).join("")),
        gateOpened: SSE_EVENTS.map(() => true),
      };
      assertEquals(same, { gzip: expected, br: expected });
      // Intended difference: Deno.serve's list of compressible types (the
      // mime-db's) lacks text/event-stream, so it sends events as they are;
      // Portico compresses every text/* type, each event flushed on its own.
      if (side === "Deno.serve") {
        const none = { encoding: null, vary: null };
        assertEquals(own, { gzip: none, br: none });
      } else {
        assertEquals(own, {
          gzip: { encoding: "gzip", vary: "Accept-Encoding" },
          br: { encoding: "br", vary: "Accept-Encoding" },
        });
      }
    },
  });
}

const CASES: Case[] = [
  echoCase,
  downloadCase,
  uploadCase,
  slowStreamCase(),
  cookieCase,
  noBodyCase,
  statusTextCase,
  throwCase,
  midwayErrorCase(),
  headCase,
  http10Case,
  declaredLengthCase,
  completeStreamCase,
  asteriskCase,
  compressionCase,
  sseCase(),
];

for (const c of CASES) {
  Deno.test(`serve() agrees with Deno.serve on ${c.name}`, async () => {
    const seen = await observeBoth(c);
    // The reference first, so a change in Deno.serve shows as such.
    c.expect(seen["Deno.serve"], "Deno.serve");
    assertEquals(seen["serve()"].same, seen["Deno.serve"].same, "serve() differs from Deno.serve");
    c.expect(seen["serve()"], "serve()");
  });
}
