/**
 * How to send a file, whatever store it came from: preconditions, ranges and
 * a streamed body (a `ReadableStream` that is also a {@linkcode BodySource}),
 * and HEAD. Which file to send is decided elsewhere; so is the wire format.
 *
 * @module
 */

import { errorToResponse, HttpError } from "../errors.ts";
import { type BodySource, withBodySource } from "../http/body_source.ts";
import { evaluatePreconditions, ifRangeAllows, type Validators } from "./conditional.ts";
import type { FileHandle } from "./fs.ts";
import { notModifiedHeaders, type Representation } from "./headers.ts";
import {
  type ByteRange,
  contentRange,
  multipartLayout,
  parseRange,
  type RangeDecision,
} from "./range.ts";

/** Size of each read from a file while streaming it. */
export const READ_CHUNK_BYTES = 64 * 1024;

const FULL: RangeDecision = Object.freeze({ kind: "full" });

/**
 * Answers a GET or HEAD request with an open file. With validators, the
 * request's preconditions and ranges are applied (RFC 9110 §13, §14); a
 * representation without them (a not-found page) is sent whole with its
 * status. The file is closed when the response body ends or is cancelled,
 * or at once when there is no body. HEAD is left to {@linkcode headResponse}.
 *
 * @param request The request (method and conditional/range fields are read).
 * @param file The open file, at offset 0.
 * @param representation Its status, size, fields (from `fileHeaders`) and validators.
 * @returns The response: its status, 206, 304, 412 or 416.
 *
 * @example
 * ```ts
 * import { fileRepresentation } from "./headers.ts";
 *
 * const file = await Deno.open("www/index.html");
 * const response = sendFile(new Request("http://localhost/"), file,
 *   fileRepresentation(await file.stat(), "text/html; charset=utf-8"));
 * ```
 */
export function sendFile(
  request: Pick<Request, "method" | "headers">,
  file: FileHandle,
  representation: Representation,
): Response {
  const { validators, size } = representation;
  if (validators === null) return wholeFile(file, representation);
  const unchanged = preconditionAnswer(request, representation.headers, validators);
  if (unchanged !== null) {
    file.close();
    return unchanged;
  }
  const decision = rangeOf(request, validators, size);
  if (decision.kind === "unsatisfiable") {
    file.close();
    return refusal(416, { "content-range": `bytes */${size}` });
  }
  if (decision.kind === "partial") return partialFile(file, representation, decision.ranges);
  return wholeFile(file, representation);
}

/**
 * Answers a GET or HEAD request with a body of unknown length (a file
 * compressed while it is read): preconditions apply, ranges do not (a range
 * request is given the identity representation before it gets here). The
 * body is cancelled when it is not sent.
 *
 * @param request The request (method and conditional fields are read).
 * @param body The bytes.
 * @param headers The 200 response's fields (without framing).
 * @param validators The representation's validators.
 * @returns A 200 sent chunked, 304 or 412.
 *
 * @example
 * ```ts
 * const validators = { etag: "\"a-gzip\"", lastModified: null };
 * const body = new Blob(["x"]).stream().pipeThrough(new CompressionStream("gzip"));
 * sendStream(new Request("http://localhost/"), body,
 *   new Headers({ "content-encoding": "gzip" }), validators).status; // 200
 * ```
 */
export function sendStream(
  request: Pick<Request, "method" | "headers">,
  body: ReadableStream<Uint8Array>,
  headers: Headers,
  validators: Validators,
): Response {
  const unchanged = preconditionAnswer(request, headers, validators);
  if (unchanged !== null) {
    body.cancel();
    return unchanged;
  }
  return new Response(body, { status: 200, headers: new Headers(headers) });
}

/** The 304 or 412 the request's preconditions call for (RFC 9110 §13.2.2), or null to go on. */
function preconditionAnswer(
  request: Pick<Request, "method" | "headers">,
  headers: Headers,
  validators: Validators,
): Response | null {
  const precondition = evaluatePreconditions(request.method, request.headers, validators);
  if (precondition === "proceed") return null;
  if (precondition === "failed") return refusal(412);
  return new Response(null, { status: 304, headers: notModifiedHeaders(headers) });
}

/**
 * For HEAD, the same status and fields without a body, the body's file
 * released at once; any other request's response unchanged. The static
 * layer applies it once, where its responses leave it.
 *
 * @param request The request.
 * @param response The response a GET would get.
 * @returns The response to send.
 *
 * @example
 * ```ts
 * const head = new Request("http://localhost/", { method: "HEAD" });
 * headResponse(head, new Response("hello")).body; // null
 * ```
 */
export function headResponse(request: Pick<Request, "method">, response: Response): Response {
  if (request.method !== "HEAD" || response.body === null) return response;
  // Cancelling the stream closes a file body's source (and its file) now.
  response.body.cancel();
  return new Response(null, { status: response.status, headers: response.headers });
}

/** The response for a decision of this module (412, 416), through the one error mapping. */
function refusal(status: number, headers?: HeadersInit): Response {
  // An HttpError is never reported: there is nothing to report it to.
  return errorToResponse(new HttpError(status, undefined, headers), () => {});
}

/** What the Range field asks of a representation of `size` bytes. */
function rangeOf(
  request: Pick<Request, "method" | "headers">,
  validators: Validators,
  size: number,
): RangeDecision {
  // RFC 9110 §14.2: GET is the only method for which range handling is defined.
  const header = request.method === "GET" ? request.headers.get("range") : null;
  if (header === null || !ifRangeAllows(request.headers.get("if-range"), validators)) return FULL;
  return parseRange(header, size);
}

/** The whole file with the representation's status. */
function wholeFile(file: FileHandle, representation: Representation): Response {
  const { status, size } = representation;
  const headers = new Headers(representation.headers);
  headers.set("content-length", String(size));
  if (size === 0) {
    file.close();
    return new Response(null, { status, headers });
  }
  return fileResponse(new FileSource(file, [{ start: 0, end: size - 1 }]), { status, headers });
}

/** A 206 with one range, or with several as multipart/byteranges (RFC 9110 §14.6). */
function partialFile(
  file: FileHandle,
  representation: Representation,
  ranges: readonly ByteRange[],
): Response {
  const size = representation.size;
  const headers = new Headers(representation.headers);
  if (ranges.length === 1) {
    headers.set("content-range", contentRange(ranges[0], size));
    headers.set("content-length", String(ranges[0].end - ranges[0].start + 1));
    return fileResponse(new FileSource(file, ranges), { status: 206, headers });
  }
  const type = headers.get("content-type") ?? "application/octet-stream";
  const boundary = crypto.randomUUID().replaceAll("-", "");
  const layout = multipartLayout(ranges, size, type, boundary);
  headers.set("content-type", layout.contentType);
  headers.set("content-length", String(layout.length));
  const heads = layout.parts.map((part) => latin1(part.head));
  const source = new FileSource(file, ranges, heads, latin1(layout.tail));
  return fileResponse(source, { status: 206, headers });
}

/** Field text as bytes, one per character (part heads are ASCII). */
function latin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * A response whose body is read from `source`: as a stream by whoever
 * consumes it, or straight into the connection's buffers by the server.
 */
function fileResponse(source: FileSource, init: ResponseInit): Response {
  return withBodySource(new Response(sourceStream(source), init), source);
}

/**
 * An open file's first `size` bytes as a stream read as it is pulled (for a
 * consumer that transforms them, such as a compressor). The file is closed
 * once, at the end, on an error, or when the stream is cancelled; a file
 * that ends sooner is an error.
 *
 * @param file The open file, at offset 0.
 * @param size How many bytes to read.
 * @returns The stream.
 *
 * @example
 * ```ts
 * const file = await Deno.open("www/index.html");
 * const body = fileBody(file, (await file.stat()).size);
 * ```
 */
export function fileBody(file: FileHandle, size: number): ReadableStream<Uint8Array> {
  return sourceStream(new FileSource(file, size > 0 ? [{ start: 0, end: size - 1 }] : []));
}

/**
 * A stream over a source. Reads happen only when the consumer pulls, so a
 * slow client holds one chunk, not the file.
 */
function sourceStream(source: FileSource): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = new Uint8Array(Math.max(1, Math.min(READ_CHUNK_BYTES, source.left)));
        const n = await source.read(chunk);
        if (n === null) controller.close();
        else controller.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
      } catch (error) {
        controller.error(error);
      }
    },
    cancel() {
      source.close();
    },
  }, { highWaterMark: 0 });
}

/**
 * Ranges of a file, each optionally preceded by a part head, then an
 * optional tail, as a {@linkcode BodySource}. Only the bytes of the ranges
 * are read. A file that ends early (truncated while being sent) is an
 * error, so the connection closes instead of sending fewer bytes than
 * promised; the file is closed at the end, on error, or by `close()`.
 */
export class FileSource implements BodySource {
  #file: FileHandle;
  #ranges: readonly ByteRange[];
  #heads: readonly Uint8Array[] | undefined;
  #tail: Uint8Array | undefined;
  #index = 0;
  #remaining = -1; // bytes left in ranges[index]; -1 before it starts
  #position = 0; // the file's offset: a freshly opened file is at 0
  #pending: Uint8Array | null = null; // a part head or the tail, still to copy
  #left: number;
  #closed = false;

  /**
   * @param file The open file, at offset 0.
   * @param ranges The byte ranges to send, in order.
   * @param heads A part head before each range (multipart/byteranges).
   * @param tail Bytes after the last range.
   */
  constructor(
    file: FileHandle,
    ranges: readonly ByteRange[],
    heads?: readonly Uint8Array[],
    tail?: Uint8Array,
  ) {
    this.#file = file;
    this.#ranges = ranges;
    this.#heads = heads;
    this.#tail = tail;
    let left = tail?.length ?? 0;
    for (const range of ranges) left += Math.max(0, range.end - range.start + 1);
    for (const head of heads ?? []) left += head.length;
    this.#left = left;
  }

  /** Bytes still to come. */
  get left(): number {
    return this.#left;
  }

  async read(p: Uint8Array): Promise<number | null> {
    try {
      const n = await this.#next(p);
      if (n === null) this.close();
      else this.#left -= n;
      return n;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  async #next(p: Uint8Array): Promise<number | null> {
    while (true) {
      const pending = this.#pending;
      if (pending !== null) {
        const n = Math.min(p.length, pending.length);
        p.set(pending.subarray(0, n));
        this.#pending = n < pending.length ? pending.subarray(n) : null;
        return n;
      }
      if (this.#index === this.#ranges.length) {
        if (this.#tail === undefined) return null;
        this.#pending = this.#tail;
        this.#tail = undefined;
        continue;
      }
      const range = this.#ranges[this.#index];
      if (this.#remaining === -1) {
        this.#remaining = Math.max(0, range.end - range.start + 1);
        if (range.start !== this.#position && this.#remaining > 0) {
          this.#position = await this.#file.seek(range.start, Deno.SeekMode.Start);
        }
        if (this.#heads !== undefined) {
          this.#pending = this.#heads[this.#index];
          continue;
        }
      }
      if (this.#remaining === 0) {
        this.#index++;
        this.#remaining = -1;
        continue;
      }
      const into = p.length > this.#remaining ? p.subarray(0, this.#remaining) : p;
      const n = await this.#file.read(into);
      if (n === null) throw new Error("File ended before its expected size");
      this.#remaining -= n;
      this.#position += n;
      return n;
    }
  }

  close(): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#file.close();
    }
  }
}
