/**
 * How to send an open file: validators, preconditions, ranges and a streamed
 * body. Which file to send is decided elsewhere ({@linkcode serveStatic}).
 *
 * @module
 */

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
      return new Response(fileStream(file, ranges, heads, tail), { status: 206, headers });
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
  return new Response(fileStream(file, ranges), { status, headers });
}

/**
 * Streams ranges of a file, each optionally preceded by a part head, then an
 * optional tail. Reads happen only when the consumer pulls, so a slow client
 * holds one chunk, not the file. A file that ends early (truncated while
 * being sent) errors the stream, so the connection closes instead of sending
 * fewer bytes than promised.
 */
function fileStream(
  file: FileHandle,
  ranges: readonly ByteRange[],
  heads?: readonly Uint8Array[],
  tail?: Uint8Array,
): ReadableStream<Uint8Array> {
  let index = 0;
  let remaining = -1; // bytes left in ranges[index]; -1 before it starts
  let position = 0; // the file's offset: a freshly opened file is at 0
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (index === ranges.length) {
          close();
          if (tail !== undefined) controller.enqueue(tail);
          controller.close();
          return;
        }
        const range = ranges[index];
        if (remaining === -1) {
          remaining = range.end - range.start + 1;
          if (range.start !== position) {
            position = await file.seek(range.start, Deno.SeekMode.Start);
          }
          if (heads !== undefined) {
            controller.enqueue(heads[index]);
            return;
          }
        }
        const chunk = new Uint8Array(Math.min(READ_CHUNK_BYTES, remaining));
        const n = await file.read(chunk);
        if (n === null) throw new Error("File ended before its expected size");
        remaining -= n;
        position += n;
        controller.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
        if (remaining === 0) {
          index++;
          remaining = -1;
        }
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}
