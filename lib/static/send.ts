/**
 * How to send an open file: validators, preconditions, ranges and a streamed
 * body. Which file to send is decided elsewhere ({@linkcode serveStatic}).
 *
 * @module
 */

import { type BodySource, withBodySource } from "../http/body_source.ts";
import { errorResponse } from "../http/error_page.ts";
import { encodeLatin1 } from "../http/response.ts";
import { evaluatePreconditions, fileEtag, ifRangeAllows } from "./conditional.ts";
import type { FileHandle, FileStat } from "./fs.ts";
import { type ByteRange, contentRange, multipartLayout, parseRange } from "./range.ts";

/** Size of each read from a file while streaming it. */
export const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Answers a GET or HEAD request with an open file. The file is closed when
 * the response body ends or is cancelled, or at once when there is no body.
 *
 * @param request The request (method and conditional/range fields are read).
 * @param file The open file.
 * @param stat Its metadata, taken from the open handle.
 * @param type Its `Content-Type`.
 * @param status 200 for a file that was asked for, 404 for the not-found page.
 * @returns The response: 200/404, 206, 304, 412 or 416.
 */
export function sendFile(
  request: Pick<Request, "method" | "headers">,
  file: FileHandle,
  stat: FileStat,
  type: string,
  status = 200,
): Response {
  const size = stat.size;
  const headers = new Headers({ "content-type": type });
  if (status !== 200) {
    headers.set("content-length", String(size));
    return streamOrClose(request, file, headers, status, [{ start: 0, end: size - 1 }]);
  }
  const validators = { etag: fileEtag(size, stat.mtime), lastModified: stat.mtime };
  headers.set("accept-ranges", "bytes");
  headers.set("etag", validators.etag);
  if (stat.mtime !== null) headers.set("last-modified", stat.mtime.toUTCString());

  const precondition = evaluatePreconditions(request.method, request.headers, validators);
  if (precondition !== "proceed") {
    file.close();
    if (precondition === "failed") return errorResponse(412);
    headers.delete("content-type");
    return new Response(null, { status: 304, headers });
  }

  // RFC 9110 §14.2: GET is the only method for which range handling is defined.
  const rangeHeader = request.method === "GET" ? request.headers.get("range") : null;
  if (rangeHeader !== null && ifRangeAllows(request.headers.get("if-range"), validators)) {
    const decision = parseRange(rangeHeader, size);
    if (decision.kind === "unsatisfiable") {
      file.close();
      return errorResponse(416, undefined, { "content-range": `bytes */${size}` });
    }
    if (decision.kind === "partial") {
      const ranges = decision.ranges;
      if (ranges.length === 1) {
        headers.set("content-range", contentRange(ranges[0], size));
        headers.set("content-length", String(ranges[0].end - ranges[0].start + 1));
        return streamOrClose(request, file, headers, 206, ranges);
      }
      const boundary = crypto.randomUUID().replaceAll("-", "");
      const layout = multipartLayout(ranges, size, type, boundary);
      headers.set("content-type", layout.contentType);
      headers.set("content-length", String(layout.length));
      const heads = layout.parts.map((part) => encodeLatin1(part.head));
      const tail = encodeLatin1(layout.tail);
      return fileResponse(new FileSource(file, ranges, heads, tail), { status: 206, headers });
    }
  }
  headers.set("content-length", String(size));
  return streamOrClose(request, file, headers, status, [{ start: 0, end: size - 1 }]);
}

function streamOrClose(
  request: Pick<Request, "method">,
  file: FileHandle,
  headers: Headers,
  status: number,
  ranges: readonly ByteRange[],
): Response {
  if (request.method === "HEAD" || ranges[0].end < ranges[0].start) {
    file.close();
    return new Response(null, { status, headers });
  }
  return fileResponse(new FileSource(file, ranges), { status, headers });
}

/**
 * A response whose body is read from `source`: as a stream by whoever
 * consumes it, or straight into the connection's buffers by the server.
 */
function fileResponse(source: FileSource, init: ResponseInit): Response {
  return withBodySource(new Response(sourceStream(source), init), source);
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
