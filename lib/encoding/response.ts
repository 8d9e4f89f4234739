/**
 * Compressing an application's responses on the fly, as `Deno.serve` does
 * with `automaticCompression` (Deno's `ext/http/http_next.rs`:
 * `is_request_compressible`, `is_response_compressible`,
 * `modify_compressibility_from_response`), with these intended differences:
 *
 * - zstd is offered too, and the client's qualities decide (Deno picks br or
 *   gzip only).
 * - The size threshold is an option (the server uses 1024 bytes; Deno 64),
 *   and it applies only to a length declared by `Content-Length`: a Response
 *   does not tell a string body's length, so such bodies are compressed
 *   whatever their size.
 * - 206 responses are never compressed, with or without `Content-Range`
 *   (Deno looks at `Content-Range` only). `no-transform` counts wherever it
 *   appears in `Cache-Control` (Deno ignores it when another directive has a
 *   malformed value).
 * - `Vary: Accept-Encoding` is sent whenever the choice depended on the
 *   request's `Accept-Encoding`, also when the answer is identity (RFC 9110
 *   §12.5.5); Deno sends it only on compressed responses. It is appended to
 *   an existing `Vary`, and `Vary: *` is left alone (Deno prepends, even to
 *   `*`).
 * - `Accept-Ranges` is dropped from a compressed response, as nginx does:
 *   ranges would be of the identity bytes, which this response does not carry.
 *
 * @module
 */

import { bodySourceOf, withBodySource } from "../http/body_source.ts";
import { compressionStream } from "./compress.ts";
import { isCompressible } from "./compressible.ts";
import { type Coding, negotiateEncoding } from "./negotiate.ts";

/** What compressing application responses needs. */
export interface ResponseCompression {
  /** Codings offered, in preference order (a subset of `CODINGS`); empty: never compress. */
  readonly codings: readonly Coding[];
  /** Smallest body worth compressing when its length is known, in bytes (the server uses 1024). */
  readonly minBytes: number;
}

/**
 * The response to send for `request`: `response` compressed when the client
 * accepts one of the offered codings and the response is worth compressing;
 * otherwise `response` itself, or a copy of it that only adds
 * `Vary: Accept-Encoding`.
 *
 * A response is left as it is when it has no body, is 204, 206 or 304, has a
 * `Content-Encoding` or `Content-Range`, says `Cache-Control: no-transform`,
 * has a media type that does not compress (`isCompressible`), or declares a
 * `Content-Length` below `minBytes`. Otherwise its representation depends on
 * `Accept-Encoding`, so it gets `Vary: Accept-Encoding` even when sent as it is.
 *
 * A compressed response has the same status and fields, plus
 * `Content-Encoding` and `Vary`, minus `Content-Length` and `Accept-Ranges`,
 * and a strong `ETag` made weak: it validated the identity bytes, not these
 * (RFC 9110 §8.8.1). Its body is compressed at the moderate level and flushed
 * after every chunk the application writes, so a streamed body (server-sent
 * events) reaches the client piece by piece. A HEAD request gets the same
 * fields as GET would (the server drops the body).
 *
 * The response's own headers are never modified (they may be immutable, as
 * those of `Response.redirect()` and `fetch()` are).
 *
 * @param request The request: its method and its `Accept-Encoding`.
 * @param response What the application answered.
 * @param options The offered codings and the size threshold.
 * @returns The response to send.
 *
 * @example
 * ```ts
 * import { compressResponse } from "./response.ts";
 * const request = new Request("http://localhost/", { headers: { "accept-encoding": "gzip" } });
 * const page = new Response("<p>hello</p>".repeat(200), {
 *   headers: { "content-type": "text/html" },
 * });
 * const sent = compressResponse(request, page, { codings: ["br", "zstd", "gzip"], minBytes: 1024 });
 * console.log(sent.headers.get("content-encoding")); // "gzip"
 * console.log(sent.headers.get("vary")); // "Accept-Encoding"
 * ```
 */
export function compressResponse(
  request: Pick<Request, "method" | "headers">,
  response: Response,
  options: ResponseCompression,
): Response {
  if (options.codings.length === 0 || !_worthCompressing(response, options.minBytes)) {
    return response;
  }
  const coding = negotiateEncoding(request.headers.get("accept-encoding"), options.codings);
  if (coding === "identity") return _withVary(response);

  const headers = new Headers(response.headers);
  headers.set("vary", _varyWithAcceptEncoding(headers.get("vary")));
  headers.set("content-encoding", coding);
  headers.delete("content-length");
  headers.delete("accept-ranges");
  const etag = headers.get("etag");
  if (etag !== null && !etag.startsWith("W/")) headers.set("etag", `W/${etag}`);
  const body = response.body!.pipeThrough(compressionStream(coding, "moderate", { flush: true }));
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/**
 * Whether compressing `response` could pay, whatever the client accepts.
 * The checks that need no parsing come first.
 */
function _worthCompressing(response: Response, minBytes: number): boolean {
  const status = response.status;
  // 204 and 304 have no content; 206 carries ranges of the identity bytes.
  if (status === 204 || status === 206 || status === 304) return false;
  const body = response.body;
  if (body === null || response.bodyUsed || body.locked) return false;
  const headers = response.headers;
  if (headers.has("content-encoding") || headers.has("content-range")) return false;
  if (!isCompressible(headers.get("content-type"))) return false;
  const cacheControl = headers.get("cache-control");
  if (cacheControl !== null && _hasNoTransform(cacheControl)) return false;
  const length = headers.get("content-length");
  if (length !== null && /^\d{1,15}$/.test(length) && Number(length) < minBytes) return false;
  return true;
}

/**
 * Whether a `Cache-Control` value has the `no-transform` directive (RFC 9111
 * §5.2.2.6 and §5.2.1.6): an intermediary, or a server on the origin's
 * behalf, must not change the content coding.
 */
function _hasNoTransform(cacheControl: string): boolean {
  for (const directive of cacheControl.split(",")) {
    const eq = directive.indexOf("=");
    const name = (eq === -1 ? directive : directive.slice(0, eq)).trim();
    if (name.toLowerCase() === "no-transform") return true;
  }
  return false;
}

/**
 * `response` with `Vary: Accept-Encoding` (itself when its `Vary` already
 * says so), keeping its body and, for a file body, its fast path.
 */
function _withVary(response: Response): Response {
  const vary = response.headers.get("vary");
  const merged = _varyWithAcceptEncoding(vary);
  if (merged === vary) return response;
  const headers = new Headers(response.headers);
  headers.set("vary", merged);
  const copy = new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
  // The copy reads the same stream, so the file behind it may still be sent directly.
  const source = bodySourceOf(response);
  return source === undefined ? copy : withBodySource(copy, source);
}

/**
 * A `Vary` value that includes `Accept-Encoding`: `vary` itself when it
 * names it already or is `*` (which covers every field, RFC 9110 §12.5.5).
 */
function _varyWithAcceptEncoding(vary: string | null): string {
  if (vary === null || vary.trim() === "") return "Accept-Encoding";
  for (const member of vary.split(",")) {
    const name = member.trim().toLowerCase();
    if (name === "*" || name === "accept-encoding") return vary;
  }
  return `${vary}, Accept-Encoding`;
}

/**
 * {@linkcode compressResponse} for a response whose length may not be
 * declared: a body that is complete at once (a string or bytes given to
 * `new Response`) is measured first, so a small one is sent as it is, as
 * `Deno.serve` does for bodies it knows are small. A body still being
 * produced (a stream, server-sent events) is compressed whatever its size,
 * without waiting for more than one turn of the event loop.
 *
 * @param request The request: its method and its `Accept-Encoding`.
 * @param response What the application answered.
 * @param options The offered codings and the size threshold.
 * @returns The response to send.
 *
 * @example
 * ```ts
 * const request = new Request("http://localhost/", { headers: { "accept-encoding": "gzip" } });
 * const small = new Response("ok", { headers: { "content-type": "text/plain" } });
 * const sent = await compressAppResponse(request, small, { codings: ["gzip"], minBytes: 1024 });
 * sent.headers.get("content-encoding"); // null: two bytes are not worth it
 * ```
 */
export async function compressAppResponse(
  request: Pick<Request, "method" | "headers">,
  response: Response,
  options: ResponseCompression,
): Promise<Response> {
  if (
    options.codings.length === 0 || !request.headers.has("accept-encoding") ||
    response.headers.has("content-length") || !_worthCompressing(response, options.minBytes)
  ) {
    return compressResponse(request, response, options);
  }
  return compressResponse(request, await _measured(response), options);
}

/**
 * `response` with a `Content-Length` when its body is complete within one
 * turn of the event loop; otherwise with the same bytes still streaming.
 */
async function _measured(response: Response): Promise<Response> {
  const reader = response.body!.getReader();
  const first = await reader.read();
  const headers = new Headers(response.headers);
  const init = { status: response.status, statusText: response.statusText, headers };
  if (first.done) {
    headers.set("content-length", "0");
    return new Response(null, init);
  }
  const second = reader.read();
  const settled = await Promise.race([second.catch(() => undefined), _nextTask()]);
  if (settled !== undefined && settled.done) {
    headers.set("content-length", String(first.value.length));
    return new Response(first.value, init);
  }
  return new Response(_rest(first.value, second, reader), init);
}

/** The body again: its first chunk, the read already started, then the rest. */
function _rest(
  first: Uint8Array,
  second: Promise<ReadableStreamReadResult<Uint8Array>>,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = second;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(first);
    },
    async pull(controller) {
      const next = await (pending ?? reader.read());
      pending = null;
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Resolves with `undefined` after the current macrotask. */
function _nextTask(): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), 0));
}
