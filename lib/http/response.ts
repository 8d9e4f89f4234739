/**
 * Writing a Fetch `Response` as an HTTP/1.1 message: the head is built once
 * as bytes, the body is framed by Content-Length when its size is known and
 * by chunked coding (HTTP/1.1) or connection close (HTTP/1.0) otherwise.
 *
 * @module
 */

import { type BodySource, bodySourceOf } from "./body_source.ts";
import type { BufferPool } from "./buffer_pool.ts";
import { isBodylessStatus, statusText } from "./status.ts";

/** The one method of a connection this module needs. */
export interface ByteSink {
  /** Writes some of `p`; resolves to the number of bytes written. */
  write(p: Uint8Array): Promise<number>;
}

/** What the writer needs to know about the request being answered. */
export interface ResponseContext {
  /** The request method; HEAD responses carry no body. */
  method: string;
  /** The request's minor HTTP version. */
  minor: 0 | 1;
  /**
   * Whether the connection may stay open after this response. Read when the
   * head is built, after the body's first piece, so a getter may answer from
   * what reading that piece changed.
   */
  readonly keepAlive: boolean;
  /** The `Server` header value, unless the response sets its own. */
  server: string;
  /**
   * Kept up to date with the body bytes written so far, so that a response
   * cut short can still be logged with what was sent.
   */
  progress?: { bodyBytes: number };
  /**
   * Buffers for copying bodies that come with a {@linkcode BodySource}
   * (files); without a pool such bodies are read as streams.
   */
  buffers?: BufferPool;
}

/** The outcome of writing a response. */
export interface WriteResult {
  /** The status code sent. */
  status: number;
  /** Body bytes sent (not counting chunk framing). */
  bodyBytes: number;
  /** Whether the connection may carry another request. */
  keepAlive: boolean;
}

/** Thrown when a body cannot be sent as promised; the connection must close. */
export class BodyError extends Error {
  /** Whether the response head had been written when the body failed. */
  readonly headSent: boolean;

  /**
   * @param message What went wrong.
   * @param headSent Whether the head had been written.
   * @param cause The underlying error, if any.
   */
  constructor(message: string, headSent: boolean, cause?: unknown) {
    super(message, { cause });
    this.name = "BodyError";
    this.headSent = headSent;
  }
}

// Framing and persistence are the connection's business, never the handler's.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "upgrade",
  "proxy-connection",
  "set-cookie",
]);

/** Bodies up to this size are sent in the same write as the head. */
const COALESCE_LIMIT = 16 * 1024;
const CRLF = new Uint8Array([0x0d, 0x0a]);
const LAST_CHUNK = new Uint8Array([0x30, 0x0d, 0x0a, 0x0d, 0x0a]); // "0\r\n\r\n"

/**
 * Writes every byte of `p`.
 *
 * @param sink Where to write.
 * @param p The bytes.
 */
export async function writeAll(sink: ByteSink, p: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < p.length) offset += await sink.write(p.subarray(offset));
}

/**
 * Encodes a header-section string as Latin-1: header values are byte strings,
 * so every code unit is one byte (UTF-8 would turn obs-text into two).
 *
 * @param s Text whose code units are all below 256.
 * @returns The bytes.
 */
export function encodeLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * The current time as an IMF-fixdate (RFC 9110 §5.6.7), recomputed at most
 * once a second.
 */
export const httpDate: () => string = (() => {
  let second = -1;
  let text = "";
  return () => {
    const now = Date.now();
    const s = Math.floor(now / 1000);
    if (s !== second) {
      second = s;
      text = new Date(now).toUTCString();
    }
    return text;
  };
})();

/**
 * Serialises a response head.
 *
 * @param status The status code.
 * @param reason The reason phrase.
 * @param headers The response's own fields (hop-by-hop ones are dropped).
 * @param framing Framing and connection fields added by the server, in order.
 * @param server The default `Server` value.
 * @returns The head as text, ending in the empty line.
 */
export function serializeHead(
  status: number,
  reason: string,
  headers: Headers,
  framing: ReadonlyArray<readonly [string, string]>,
  server: string,
): string {
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  let hasDate = false;
  let hasServer = false;
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name)) continue;
    if (name === "date") hasDate = true;
    else if (name === "server") hasServer = true;
    head += `${name}: ${value}\r\n`;
  }
  for (const cookie of headers.getSetCookie()) head += `set-cookie: ${cookie}\r\n`;
  if (!hasDate) head += `date: ${httpDate()}\r\n`;
  if (!hasServer) head += `server: ${server}\r\n`;
  for (const [name, value] of framing) head += `${name}: ${value}\r\n`;
  return head + "\r\n";
}

/** A Content-Length header set by the handler, or -1 when absent or invalid. */
function declaredLength(headers: Headers): number {
  const value = headers.get("content-length");
  if (value === null || !/^[0-9]{1,15}$/.test(value)) return -1;
  return Number(value);
}

/**
 * The size of a body that is complete at once (a string or bytes given to
 * `new Response`), so HEAD carries the Content-Length that GET would for
 * such a body; -1 for a body that is still being produced, which HEAD does
 * not wait for (GET might then still learn its length).
 */
async function readyLength(body: ReadableStream<Uint8Array>): Promise<number> {
  const reader = body.getReader();
  try {
    let length = 0;
    for (let i = 0; i < 2; i++) {
      const result = await Promise.race([reader.read().catch(() => undefined), nextTask()]);
      if (result === undefined) return -1;
      if (result.done) return length;
      length += result.value.length;
    }
    return -1;
  } finally {
    reader.releaseLock();
  }
}

/** Resolves with `undefined` after the current macrotask. */
function nextTask(): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), 0));
}

/**
 * Writes `response` to `sink`.
 *
 * The body is framed by, in order of preference: the handler's own valid
 * Content-Length (which the body must then match exactly); the size of a body
 * that is already complete when writing starts; chunked coding for HTTP/1.1;
 * and closing the connection for HTTP/1.0.
 *
 * @param sink The connection.
 * @param response What the handler answered.
 * @param context The request's method, version and persistence.
 * @returns The status, body bytes written and whether the connection may be reused.
 * @throws {BodyError} When the body stream fails or disagrees with its
 * declared length. If `headSent` is false nothing was written and the caller
 * may still answer 500; otherwise it must close the connection so the client
 * sees a truncated message.
 * @throws Any write error from `sink` (the client went away).
 */
export async function writeResponse(
  sink: ByteSink,
  response: Response,
  context: ResponseContext,
): Promise<WriteResult> {
  const status = response.status;
  const reason = response.statusText || statusText(status);
  let keepAlive = true;
  const framing: Array<[string, string]> = [];
  const connectionField = (): void => {
    keepAlive &&= context.keepAlive && !wantsClose(response.headers);
    if (!keepAlive) framing.push(["connection", "close"]);
    else if (context.minor === 0) framing.push(["connection", "keep-alive"]);
  };
  const declared = declaredLength(response.headers);
  const body = response.body;

  if (context.method === "HEAD" || isBodylessStatus(status) || body === null) {
    let length = body === null && !isBodylessStatus(status) ? 0 : -1;
    if (declared !== -1 && status !== 204 && status >= 200) length = declared;
    else if (body !== null && !isBodylessStatus(status)) length = await readyLength(body);
    await body?.cancel().catch(() => {});
    if (length !== -1) framing.push(["content-length", String(length)]);
    connectionField();
    const head = serializeHead(status, reason, response.headers, framing, context.server);
    await writeAll(sink, encodeLatin1(head));
    return { status, bodyBytes: 0, keepAlive };
  }

  const source = declared !== -1 && context.buffers !== undefined
    ? bodySourceOf(response)
    : undefined;
  if (source !== undefined) {
    framing.push(["content-length", String(declared)]);
    connectionField();
    const head = encodeLatin1(
      serializeHead(status, reason, response.headers, framing, context.server),
    );
    const bodyBytes = await copySource(sink, head, source, declared, context.buffers!, context);
    return { status, bodyBytes, keepAlive };
  }

  const reader = body.getReader();
  try {
    // Read the first piece before sending anything, so a body that fails at
    // once still becomes a 500 and a small complete body gets a length.
    let first: ReadableStreamReadResult<Uint8Array>;
    try {
      first = await reader.read();
    } catch (error) {
      throw new BodyError("Response body stream failed", false, error);
    }
    let complete = first.done;
    let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
    if (!complete && declared === -1) {
      pending = reader.read();
      const settled = await Promise.race([pending.catch(() => undefined), nextTask()]);
      if (settled !== undefined && settled.done) {
        complete = true;
        pending = null;
      }
    }
    const firstBytes = first.done ? new Uint8Array(0) : first.value;

    let mode: "length" | "chunked" | "close";
    if (declared !== -1) {
      mode = "length";
      framing.push(["content-length", String(declared)]);
    } else if (complete) {
      mode = "length";
      framing.push(["content-length", String(firstBytes.length)]);
    } else if (context.minor === 1) {
      mode = "chunked";
      framing.push(["transfer-encoding", "chunked"]);
    } else {
      mode = "close";
      keepAlive = false;
    }
    connectionField();
    const head = encodeLatin1(
      serializeHead(status, reason, response.headers, framing, context.server),
    );

    let sent = 0;
    const send = async (piece: Uint8Array, withHead: boolean): Promise<void> => {
      if (declared !== -1 && sent + piece.length > declared) {
        // Nothing has been written yet if this is the first piece.
        throw new BodyError("Response body is longer than its Content-Length", !withHead);
      }
      sent += piece.length;
      if (mode === "chunked" && piece.length > 0) {
        const size = encodeLatin1(piece.length.toString(16) + "\r\n");
        const parts = withHead ? [head, size, piece, CRLF] : [size, piece, CRLF];
        await writeAll(sink, concat(parts));
      } else if (withHead && piece.length <= COALESCE_LIMIT) {
        await writeAll(sink, concat([head, piece]));
      } else {
        if (withHead) await writeAll(sink, head);
        if (piece.length > 0) await writeAll(sink, piece);
      }
      if (context.progress !== undefined) context.progress.bodyBytes += piece.length;
    };

    await send(firstBytes, true);
    if (!complete) {
      while (true) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await (pending ?? reader.read());
        } catch (error) {
          throw new BodyError("Response body stream failed", true, error);
        }
        pending = null;
        if (result.done) break;
        await send(result.value, false);
      }
    }
    if (declared !== -1 && sent !== declared) {
      throw new BodyError("Response body is shorter than its Content-Length", true);
    }
    if (mode === "chunked") await writeAll(sink, LAST_CHUNK);
    return { status, bodyBytes: sent, keepAlive };
  } catch (error) {
    reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}

/**
 * Writes a head and then exactly `length` body bytes from `source`, reading
 * into one pooled buffer: the head goes out with the first chunk, and each
 * chunk is written before the next is read.
 *
 * @returns The body bytes written.
 * @throws {BodyError} When the source fails or ends early.
 */
async function copySource(
  sink: ByteSink,
  head: Uint8Array,
  source: BodySource,
  length: number,
  pool: BufferPool,
  context: ResponseContext,
): Promise<number> {
  const buffer = pool.acquire();
  let headSent = false;
  let sent = 0;
  try {
    // A head too big to share the buffer with a useful chunk goes alone.
    let prefix = 0;
    if (head.length <= buffer.length / 2) {
      buffer.set(head);
      prefix = head.length;
    } else {
      await writeAll(sink, head);
      headSent = true;
    }
    while (sent < length) {
      const room = Math.min(buffer.length - prefix, length - sent);
      let n: number | null;
      try {
        n = await source.read(buffer.subarray(prefix, prefix + room));
      } catch (error) {
        throw new BodyError("Response body stream failed", headSent, error);
      }
      if (n === null) {
        throw new BodyError("Response body is shorter than its Content-Length", headSent);
      }
      if (n === 0) throw new BodyError("Response body source made no progress", headSent);
      await writeAll(sink, buffer.subarray(0, prefix + n));
      headSent = true;
      prefix = 0;
      sent += n;
      if (context.progress !== undefined) context.progress.bodyBytes += n;
    }
    if (!headSent) await writeAll(sink, buffer.subarray(0, prefix));
    // A body longer than its Content-Length is an error, as it is for streams.
    let extra: number | null;
    try {
      extra = await source.read(buffer.subarray(0, 1));
    } catch (error) {
      throw new BodyError("Response body stream failed", true, error);
    }
    if (extra !== null) {
      throw new BodyError("Response body is longer than its Content-Length", true);
    }
    return sent;
  } finally {
    source.close();
    pool.release(buffer);
  }
}

function wantsClose(headers: Headers): boolean {
  const value = headers.get("connection");
  return value !== null && value.toLowerCase().split(",").some((s) => s.trim() === "close");
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
