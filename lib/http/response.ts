/**
 * Writing a Fetch `Response` as an HTTP/1.1 message: the head is built once
 * as bytes, the body is framed by Content-Length when its size is known and
 * by chunked coding (HTTP/1.1) or connection close (HTTP/1.0) otherwise.
 *
 * @module
 */

import { concat } from "../bytes.ts";
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
  const head = new HeadPlan(response, context);
  const body = response.body;
  if (context.method === "HEAD" || isBodylessStatus(response.status) || body === null) {
    return await writeBodiless(sink, head, body);
  }
  const source = head.declared !== -1 && context.buffers !== undefined
    ? bodySourceOf(response)
    : undefined;
  if (source !== undefined) {
    head.frame(["content-length", String(head.declared)]);
    const bodyBytes = await copySource(sink, head.bytes(), source, head.declared, context);
    return head.result(bodyBytes);
  }
  return await writeStream(sink, head, body);
}

/**
 * The head of one response as it is being decided: the handler's fields,
 * plus the framing and `Connection` fields the server adds. Persistence is
 * settled when the head is serialised, not before.
 */
class HeadPlan {
  readonly #response: Response;
  readonly #context: ResponseContext;
  readonly #framing: Array<[string, string]> = [];
  /** The handler's own valid Content-Length, or -1. */
  readonly declared: number;
  #keepAlive = true;

  constructor(response: Response, context: ResponseContext) {
    this.#response = response;
    this.#context = context;
    this.declared = declaredLength(response.headers);
  }

  /** Adds a framing field. */
  frame(field: [string, string]): void {
    this.#framing.push(field);
  }

  /** The request's minor HTTP version. */
  get minor(): 0 | 1 {
    return this.#context.minor;
  }

  /** Where body bytes written so far are counted. */
  get progress(): { bodyBytes: number } | undefined {
    return this.#context.progress;
  }

  /** The body is delimited by closing the connection (HTTP/1.0 with no length). */
  closeDelimited(): void {
    this.#keepAlive = false;
  }

  /** Decides persistence and serialises the head. */
  bytes(): Uint8Array {
    const response = this.#response;
    this.#keepAlive &&= this.#context.keepAlive && !wantsClose(response.headers);
    if (!this.#keepAlive) this.#framing.push(["connection", "close"]);
    else if (this.#context.minor === 0) this.#framing.push(["connection", "keep-alive"]);
    const reason = response.statusText || statusText(response.status);
    return encodeLatin1(
      serializeHead(response.status, reason, response.headers, this.#framing, this.#context.server),
    );
  }

  /** The outcome, once the head has been written. */
  result(bodyBytes: number): WriteResult {
    return { status: this.#response.status, bodyBytes, keepAlive: this.#keepAlive };
  }
}

/**
 * A response without a body on the wire (HEAD, 1xx, 204, 304, or none): the
 * Content-Length is the one GET would have had when it is known.
 */
async function writeBodiless(
  sink: ByteSink,
  head: HeadPlan,
  body: ReadableStream<Uint8Array> | null,
): Promise<WriteResult> {
  const status = head.result(0).status;
  let length = body === null && !isBodylessStatus(status) ? 0 : -1;
  if (head.declared !== -1 && status !== 204 && status >= 200) length = head.declared;
  else if (body !== null && !isBodylessStatus(status)) length = await readyLength(body);
  await body?.cancel().catch(() => {});
  if (length !== -1) head.frame(["content-length", String(length)]);
  await writeAll(sink, head.bytes());
  return head.result(0);
}

/**
 * A body from a stream, framed by its declared length, by its size when it
 * is complete at once, by chunked coding, or (HTTP/1.0) by closing.
 */
async function writeStream(
  sink: ByteSink,
  head: HeadPlan,
  body: ReadableStream<Uint8Array>,
): Promise<WriteResult> {
  const reader = body.getReader();
  try {
    const first = await firstPiece(reader, head.declared === -1);
    let mode: "length" | "chunked" | "close";
    if (head.declared !== -1) {
      mode = "length";
      head.frame(["content-length", String(head.declared)]);
    } else if (first.complete) {
      mode = "length";
      head.frame(["content-length", String(first.bytes.length)]);
    } else if (head.minor === 1) {
      mode = "chunked";
      head.frame(["transfer-encoding", "chunked"]);
    } else {
      mode = "close";
      head.closeDelimited();
    }
    const writer = new BodyWriter(sink, head.bytes(), mode, head.declared, head.progress);
    await writer.send(first.bytes);
    if (!first.complete) {
      let pending = first.pending;
      while (true) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await (pending ?? reader.read());
        } catch (error) {
          throw new BodyError("Response body stream failed", true, error);
        }
        pending = null;
        if (result.done) break;
        await writer.send(result.value);
      }
    }
    return head.result(await writer.end());
  } catch (error) {
    reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}

/** The first piece of a body, and whether the body ends with it. */
interface FirstPiece {
  readonly bytes: Uint8Array;
  readonly complete: boolean;
  /** The second read, when it was started and has not settled yet. */
  readonly pending: Promise<ReadableStreamReadResult<Uint8Array>> | null;
}

/**
 * Reads the first piece before anything is sent, so a body that fails at
 * once still becomes a 500, and (when `probe`) looks one turn ahead so a
 * small complete body gets a length.
 */
async function firstPiece(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  probe: boolean,
): Promise<FirstPiece> {
  let first: ReadableStreamReadResult<Uint8Array>;
  try {
    first = await reader.read();
  } catch (error) {
    throw new BodyError("Response body stream failed", false, error);
  }
  const bytes = first.done ? new Uint8Array(0) : first.value;
  if (first.done || !probe) return { bytes, complete: first.done, pending: null };
  const pending = reader.read();
  const settled = await Promise.race([pending.catch(() => undefined), nextTask()]);
  if (settled !== undefined && settled.done) return { bytes, complete: true, pending: null };
  return { bytes, complete: false, pending };
}

/** Writes body pieces in their framing, the head with the first. */
class BodyWriter {
  readonly #sink: ByteSink;
  readonly #mode: "length" | "chunked" | "close";
  readonly #declared: number;
  readonly #progress: { bodyBytes: number } | undefined;
  #head: Uint8Array | null;
  #sent = 0;

  constructor(
    sink: ByteSink,
    head: Uint8Array,
    mode: "length" | "chunked" | "close",
    declared: number,
    progress: { bodyBytes: number } | undefined,
  ) {
    this.#sink = sink;
    this.#head = head;
    this.#mode = mode;
    this.#declared = declared;
    this.#progress = progress;
  }

  async send(piece: Uint8Array): Promise<void> {
    const head = this.#head;
    if (this.#declared !== -1 && this.#sent + piece.length > this.#declared) {
      // Nothing has been written yet if this is the first piece.
      throw new BodyError("Response body is longer than its Content-Length", head === null);
    }
    this.#head = null;
    this.#sent += piece.length;
    if (this.#mode === "chunked" && piece.length > 0) {
      const size = encodeLatin1(piece.length.toString(16) + "\r\n");
      await writeAll(this.#sink, concat(head ? [head, size, piece, CRLF] : [size, piece, CRLF]));
    } else if (head !== null && piece.length <= COALESCE_LIMIT) {
      await writeAll(this.#sink, concat([head, piece]));
    } else {
      if (head !== null) await writeAll(this.#sink, head);
      if (piece.length > 0) await writeAll(this.#sink, piece);
    }
    if (this.#progress !== undefined) this.#progress.bodyBytes += piece.length;
  }

  /** Ends the body; resolves to the body bytes sent. */
  async end(): Promise<number> {
    if (this.#declared !== -1 && this.#sent !== this.#declared) {
      throw new BodyError("Response body is shorter than its Content-Length", true);
    }
    if (this.#mode === "chunked") await writeAll(this.#sink, LAST_CHUNK);
    return this.#sent;
  }
}

/**
 * Writes a head and then exactly `length` body bytes from `source`. Each
 * chunk borrows a pooled buffer only while it is read and written, so a
 * slow client holds no buffer between its chunks; the head goes out with
 * the first chunk.
 *
 * @returns The body bytes written.
 * @throws {BodyError} When the source fails or ends early.
 */
async function copySource(
  sink: ByteSink,
  head: Uint8Array,
  source: BodySource,
  length: number,
  context: ResponseContext,
): Promise<number> {
  const pool = context.buffers!;
  let pendingHead: Uint8Array | null = head;
  let sent = 0;
  try {
    while (sent < length) {
      const buffer = pool.acquire();
      let n: number;
      try {
        // A head too big to share the buffer with a useful chunk goes alone.
        let prefix = 0;
        if (pendingHead !== null && pendingHead.length <= buffer.length / 2) {
          buffer.set(pendingHead);
          prefix = pendingHead.length;
        } else if (pendingHead !== null) {
          await writeAll(sink, pendingHead);
          pendingHead = null;
        }
        const room = buffer.subarray(
          prefix,
          prefix + Math.min(buffer.length - prefix, length - sent),
        );
        n = await readChunk(source, room, pendingHead === null);
        await writeAll(sink, buffer.subarray(0, prefix + n));
      } finally {
        pool.release(buffer);
      }
      pendingHead = null;
      sent += n;
      if (context.progress !== undefined) context.progress.bodyBytes += n;
    }
    if (pendingHead !== null) await writeAll(sink, pendingHead);
    // A body longer than its Content-Length is an error, as it is for streams.
    const extra = new Uint8Array(1);
    if (await readChunk(source, extra, true, true) !== 0) {
      throw new BodyError("Response body is longer than its Content-Length", true);
    }
    return sent;
  } finally {
    source.close();
  }
}

/**
 * Reads the next bytes of a source into `into`.
 *
 * @param headSent Whether the response head has been written (for the error).
 * @param endExpected Whether the source should be at its end: 0 then means it is.
 * @returns How many bytes were read.
 * @throws {BodyError} When the source fails, ends early or makes no progress.
 */
async function readChunk(
  source: BodySource,
  into: Uint8Array,
  headSent: boolean,
  endExpected = false,
): Promise<number> {
  let n: number | null;
  try {
    n = await source.read(into);
  } catch (error) {
    throw new BodyError("Response body stream failed", headSent, error);
  }
  if (n === null) {
    if (endExpected) return 0;
    throw new BodyError("Response body is shorter than its Content-Length", headSent);
  }
  if (n === 0) throw new BodyError("Response body source made no progress", headSent);
  return n;
}

function wantsClose(headers: Headers): boolean {
  const value = headers.get("connection");
  return value !== null && value.toLowerCase().split(",").some((s) => s.trim() === "close");
}
