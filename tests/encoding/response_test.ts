import { assert, assertEquals } from "../_deps.ts";
import { concat, deadline, READ_TIMEOUT_MS } from "../_helpers.ts";
import { decode, decodePrefix } from "../_bytes.ts";
import { compressResponse, type ResponseCompression } from "../../lib/encoding/response.ts";
import { CODINGS } from "../../lib/encoding/negotiate.ts";
import { bodySourceOf, withBodySource } from "../../lib/http/body_source.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const OPTIONS: ResponseCompression = { codings: ["br", "zstd", "gzip"], minBytes: 1024 };

/** About 3 KiB of JSON text. */
const JSON_TEXT = JSON.stringify(
  Array.from({ length: 60 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["a", "b"] })),
);
const HTML_TEXT = `<!doctype html><ul>${"<li>an item of a list</li>".repeat(100)}</ul>`;

/** The whole body, with a deadline on every read. */
async function bodyOf(response: Response): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  while (true) {
    const { done, value } = await deadline(reader.read(), READ_TIMEOUT_MS, "no body in time");
    if (done) return concat(parts);
    parts.push(value);
  }
}

/** A body stream that is not complete at once, whose length the headers do not tell. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = encoder.encode(text);
  const half = bytes.length >> 1;
  return ReadableStream.from([bytes.subarray(0, half), bytes.subarray(half)]);
}

interface Expected {
  /** The answer is the application's response object itself. */
  same?: boolean;
  encoding: string | null;
  vary: string | null;
  etag?: string | null;
  contentLength?: string | null;
  acceptRanges?: string | null;
}

interface Case {
  name: string;
  method?: string;
  accept: string | null;
  /** The body text the response carries (null: none). */
  text: string | null;
  response: () => Response | Promise<Response>;
  options?: ResponseCompression;
  expected: Expected;
}

const json = (init: ResponseInit = {}) => () =>
  new Response(JSON_TEXT, {
    ...init,
    headers: { "content-type": "application/json", ...init.headers as Record<string, string> },
  });

const CASES: Case[] = [
  {
    name: "JSON for gzip",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ headers: { "content-length": String(JSON_TEXT.length) } }),
    expected: { encoding: "gzip", vary: "Accept-Encoding", contentLength: null },
  },
  {
    name: "JSON for a browser (br preferred)",
    accept: "gzip, deflate, br, zstd",
    text: JSON_TEXT,
    response: json(),
    expected: { encoding: "br", vary: "Accept-Encoding" },
  },
  {
    name: "JSON for zstd",
    accept: "zstd",
    text: JSON_TEXT,
    response: json(),
    expected: { encoding: "zstd", vary: "Accept-Encoding" },
  },
  {
    name: "the client's qualities over the server's order",
    accept: "br;q=0.5, gzip",
    text: JSON_TEXT,
    response: json(),
    expected: { encoding: "gzip", vary: "Accept-Encoding" },
  },
  {
    name: "only the codings offered",
    accept: "br, zstd, gzip;q=0.1",
    text: JSON_TEXT,
    response: json(),
    options: { codings: ["gzip"], minBytes: 1024 },
    expected: { encoding: "gzip", vary: "Accept-Encoding" },
  },
  {
    name: "no Accept-Encoding: as it is, with Vary",
    accept: null,
    text: JSON_TEXT,
    response: json({ headers: { "content-length": String(JSON_TEXT.length) } }),
    expected: { encoding: null, vary: "Accept-Encoding", contentLength: String(JSON_TEXT.length) },
  },
  {
    name: "identity only: as it is, with Vary",
    accept: "identity",
    text: JSON_TEXT,
    response: json(),
    expected: { encoding: null, vary: "Accept-Encoding" },
  },
  {
    name: "a refused coding: as it is, with Vary",
    accept: "gzip;q=0",
    text: JSON_TEXT,
    response: json(),
    expected: { encoding: null, vary: "Accept-Encoding" },
  },
  {
    name: "no codings offered: never",
    accept: "gzip",
    text: JSON_TEXT,
    response: json(),
    options: { codings: [], minBytes: 0 },
    expected: { same: true, encoding: null, vary: null },
  },
  {
    name: "an existing Vary is extended",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ headers: { vary: "Origin" } }),
    expected: { encoding: "gzip", vary: "Origin, Accept-Encoding" },
  },
  {
    name: "a Vary naming Accept-Encoding is kept, not repeated",
    accept: "br",
    text: JSON_TEXT,
    response: json({ headers: { vary: "origin, accept-encoding" } }),
    expected: { encoding: "br", vary: "origin, accept-encoding" },
  },
  {
    name: "a Vary naming Accept-Encoding, sent as it is: the same response",
    accept: null,
    text: JSON_TEXT,
    response: json({ headers: { vary: "Accept-Encoding" } }),
    expected: { same: true, encoding: null, vary: "Accept-Encoding" },
  },
  {
    name: "Vary: * stays",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ headers: { vary: "*" } }),
    expected: { encoding: "gzip", vary: "*" },
  },
  {
    name: "a strong ETag is weakened",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ headers: { etag: '"v1"' } }),
    expected: { encoding: "gzip", vary: "Accept-Encoding", etag: 'W/"v1"' },
  },
  {
    name: "a weak ETag stays",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ headers: { etag: 'W/"v1"' } }),
    expected: { encoding: "gzip", vary: "Accept-Encoding", etag: 'W/"v1"' },
  },
  {
    name: "a strong ETag of a response sent as it is stays strong",
    accept: null,
    text: JSON_TEXT,
    response: json({ headers: { etag: '"v1"' } }),
    expected: { encoding: null, vary: "Accept-Encoding", etag: '"v1"' },
  },
  {
    name: "Accept-Ranges is dropped",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ headers: { "accept-ranges": "bytes" } }),
    expected: { encoding: "gzip", vary: "Accept-Encoding", acceptRanges: null },
  },
  {
    name: "a Content-Encoding already: never",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ headers: { "content-encoding": "identity" } }),
    expected: { same: true, encoding: "identity", vary: null },
  },
  {
    name: "Cache-Control: no-transform: never",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ headers: { "cache-control": "public, No-Transform" } }),
    expected: { same: true, encoding: null, vary: null },
  },
  {
    name: "no-transform beside a malformed directive: never",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ headers: { "cache-control": "max-age=abc, no-transform" } }),
    expected: { same: true, encoding: null, vary: null },
  },
  {
    name: "206: never",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ status: 206 }),
    expected: { same: true, encoding: null, vary: null },
  },
  {
    name: "Content-Range: never",
    accept: "gzip",
    text: JSON_TEXT,
    response: json({ headers: { "content-range": "bytes 0-99/5000" } }),
    expected: { same: true, encoding: null, vary: null },
  },
  {
    name: "204: never",
    accept: "gzip",
    text: null,
    response: () => new Response(null, { status: 204, headers: { "content-type": "text/plain" } }),
    expected: { same: true, encoding: null, vary: null },
  },
  {
    name: "304: never",
    accept: "gzip",
    text: null,
    response: () => new Response(null, { status: 304, headers: { "content-type": "text/html" } }),
    expected: { same: true, encoding: null, vary: null },
  },
  {
    name: "no body: never",
    accept: "gzip",
    text: null,
    response: () => new Response(null, { headers: { "content-type": "text/html" } }),
    expected: { same: true, encoding: null, vary: null },
  },
  {
    name: "a PNG: never",
    accept: "gzip",
    text: HTML_TEXT,
    response: () => new Response(HTML_TEXT, { headers: { "content-type": "image/png" } }),
    expected: { same: true, encoding: null, vary: null },
  },
  {
    name: "no Content-Type: never",
    accept: "gzip",
    text: HTML_TEXT,
    response: () => new Response(encoder.encode(HTML_TEXT)),
    expected: { same: true, encoding: null, vary: null },
  },
  {
    name: "a declared length below minBytes: never",
    accept: "gzip",
    text: "x".repeat(1023),
    response: () =>
      new Response("x".repeat(1023), {
        headers: { "content-type": "text/plain", "content-length": "1023" },
      }),
    expected: { same: true, encoding: null, vary: null, contentLength: "1023" },
  },
  {
    name: "a declared length of minBytes: compressed",
    accept: "gzip",
    text: "x".repeat(1024),
    response: () =>
      new Response("x".repeat(1024), {
        headers: { "content-type": "text/plain", "content-length": "1024" },
      }),
    expected: { encoding: "gzip", vary: "Accept-Encoding", contentLength: null },
  },
  {
    name: "a stream of unknown length: compressed",
    accept: "br",
    text: HTML_TEXT,
    response: () =>
      new Response(streamOf(HTML_TEXT), {
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
    expected: { encoding: "br", vary: "Accept-Encoding" },
  },
  {
    name: "HEAD: the fields GET would have",
    method: "HEAD",
    accept: "gzip",
    text: HTML_TEXT,
    response: () => new Response(HTML_TEXT, { headers: { "content-type": "text/html" } }),
    expected: { encoding: "gzip", vary: "Accept-Encoding" },
  },
  {
    name: "an error status is compressed like any other",
    accept: "gzip",
    text: HTML_TEXT,
    response: () =>
      new Response(HTML_TEXT, {
        status: 404,
        statusText: "Not Here",
        headers: { "content-type": "text/html" },
      }),
    expected: { encoding: "gzip", vary: "Accept-Encoding" },
  },
  {
    name: "immutable headers (a fetch() result), compressed",
    accept: "zstd",
    text: HTML_TEXT,
    response: () => fetch(`data:text/html,${encodeURIComponent(HTML_TEXT)}`),
    expected: { encoding: "zstd", vary: "Accept-Encoding" },
  },
  {
    name: "immutable headers (a fetch() result), sent as it is",
    accept: null,
    text: HTML_TEXT,
    response: () => fetch(`data:text/html,${encodeURIComponent(HTML_TEXT)}`),
    expected: { encoding: null, vary: "Accept-Encoding" },
  },
];

Deno.test("compressResponse() follows each rule", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const headers = new Headers();
      if (c.accept !== null) headers.set("accept-encoding", c.accept);
      const request = new Request("http://localhost/", { method: c.method ?? "GET", headers });
      const original = await c.response();
      const before = [...original.headers];
      const sent = compressResponse(request, original, c.options ?? OPTIONS);
      const e = c.expected;

      assertEquals(sent === original, e.same ?? false, "the same object");
      assertEquals([...original.headers], before, "the application's headers are untouched");
      assertEquals(sent.status, original.status);
      assertEquals(sent.statusText, original.statusText);
      assertEquals(sent.headers.get("content-encoding"), e.encoding, "Content-Encoding");
      assertEquals(sent.headers.get("vary"), e.vary, "Vary");
      if (e.etag !== undefined) assertEquals(sent.headers.get("etag"), e.etag, "ETag");
      if (e.contentLength !== undefined) {
        assertEquals(sent.headers.get("content-length"), e.contentLength, "Content-Length");
      }
      if (e.acceptRanges !== undefined) {
        assertEquals(sent.headers.get("accept-ranges"), e.acceptRanges, "Accept-Ranges");
      }
      assertEquals(sent.headers.get("content-type"), original.headers.get("content-type"));

      const bytes = await bodyOf(sent);
      if (c.text === null) {
        assertEquals(bytes.length, 0);
      } else {
        const coding = e.encoding === "identity" ? null : e.encoding;
        assertEquals(decoder.decode(decode(coding, bytes)), c.text, "the decoded body");
        if (coding !== null) assert(bytes.length < c.text.length, "smaller than the original");
      }
    });
  }
});

Deno.test("compressResponse() keeps a file body's source when it only adds Vary", async () => {
  let closed = 0;
  const source = { read: () => Promise.resolve(null), close: () => closed++ };
  const file = withBodySource(
    new Response(streamOf(HTML_TEXT), { headers: { "content-type": "text/html" } }),
    source,
  );
  const sent = compressResponse(new Request("http://localhost/"), file, OPTIONS);
  assert(sent !== file);
  assertEquals(sent.headers.get("vary"), "Accept-Encoding");
  assertEquals(bodySourceOf(sent), source);
  assertEquals(decoder.decode(await bodyOf(sent)), HTML_TEXT);
  assertEquals(closed, 0, "the source is the writer's to close");
});

Deno.test("compressResponse() sends each server-sent event before the next exists", async () => {
  const events = ["data: first\n\n", "event: tick\ndata: second\n\n", "data: third\n\n"];
  for (const coding of CODINGS) {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    const request = new Request("http://localhost/events", {
      headers: { "accept-encoding": coding },
    });
    const sent = compressResponse(
      request,
      new Response(body, { headers: { "content-type": "text/event-stream" } }),
      OPTIONS,
    );
    assertEquals(sent.headers.get("content-encoding"), coding);
    const reader = sent.body!.getReader();
    const received: Uint8Array[] = [];
    try {
      for (const [index, event] of events.entries()) {
        controller.enqueue(encoder.encode(event));
        // The application has written this event only: its bytes must come
        // without the next one, and decode to exactly what was written.
        const { done, value } = await deadline(
          reader.read(),
          READ_TIMEOUT_MS,
          `${coding}: event ${index} was held back`,
        );
        assert(!done && value !== undefined);
        received.push(value);
        const decoded = decoder.decode(await decodePrefix(coding, concat(received)));
        assertEquals(decoded, events.slice(0, index + 1).join(""), `${coding} event ${index}`);
      }
      controller.close();
      while (true) {
        const { done, value } = await deadline(reader.read(), READ_TIMEOUT_MS, "no end");
        if (done) break;
        received.push(value);
      }
      assertEquals(decoder.decode(decode(coding, concat(received))), events.join(""));
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
});

Deno.test("compressResponse() cancels the application's stream when the client goes away", async () => {
  const cancelled = Promise.withResolvers<unknown>();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: (reason) => cancelled.resolve(reason),
  });
  const sent = compressResponse(
    new Request("http://localhost/", { headers: { "accept-encoding": "gzip" } }),
    new Response(body, { headers: { "content-type": "text/plain" } }),
    OPTIONS,
  );
  const reader = sent.body!.getReader();
  controller.enqueue(encoder.encode("some text"));
  await deadline(reader.read(), READ_TIMEOUT_MS, "no output");
  const reason = new Error("the client went away");
  await reader.cancel(reason);
  assertEquals(await deadline(cancelled.promise, READ_TIMEOUT_MS, "not cancelled"), reason);
});
