/**
 * Range requests (RFC 9110 §14): parsing `Range: bytes=...` into a decision,
 * and the layout of a `multipart/byteranges` body.
 *
 * @module
 */

/** One satisfiable byte range, inclusive at both ends. */
export interface ByteRange {
  /** First byte offset. */
  readonly start: number;
  /** Last byte offset (inclusive). */
  readonly end: number;
}

/** What to do with a Range header. */
export type RangeDecision =
  /** Serve the whole representation with 200. */
  | { readonly kind: "full" }
  /** Answer 416 with `Content-Range: bytes *\/size`. */
  | { readonly kind: "unsatisfiable" }
  /** Answer 206 with these ranges, in the order asked. */
  | { readonly kind: "partial"; readonly ranges: readonly ByteRange[] };

/** More ranges than this in one request are answered with the whole file. */
export const MAX_RANGES = 16;

const FULL: RangeDecision = Object.freeze({ kind: "full" });
const UNSATISFIABLE: RangeDecision = Object.freeze({ kind: "unsatisfiable" });

/**
 * Decides how to answer a Range header for a representation of `size` bytes.
 *
 * A header that is not `bytes=` or has a malformed member is ignored (RFC
 * 9110 §14.2 lets a server ignore Range). Members that start past the end are
 * dropped; if none is left the answer is 416. Like Go's `net/http`, requests
 * that look like abuse (more than {@linkcode MAX_RANGES} ranges, overlapping
 * ranges, or ranges adding up to more than the file) get the whole file.
 *
 * @param header The Range value.
 * @param size The representation's size.
 * @returns The decision.
 *
 * @example
 * ```ts
 * parseRange("bytes=0-1", 10); // { kind: "partial", ranges: [{ start: 0, end: 1 }] }
 * parseRange("bytes=-3", 10); // { kind: "partial", ranges: [{ start: 7, end: 9 }] }
 * parseRange("bytes=20-", 10); // { kind: "unsatisfiable" }
 * ```
 */
export function parseRange(header: string, size: number): RangeDecision {
  const eq = header.indexOf("=");
  if (eq === -1 || header.slice(0, eq).trim().toLowerCase() !== "bytes") return FULL;
  const specs = header.slice(eq + 1).split(",");
  if (specs.length > MAX_RANGES) return FULL;
  const ranges: ByteRange[] = [];
  let sawMember = false;
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === "") continue; // RFC 9110 §5.6.1: empty list elements are ignored.
    sawMember = true;
    const dash = spec.indexOf("-");
    if (dash === -1) return FULL;
    const first = spec.slice(0, dash);
    const last = spec.slice(dash + 1);
    if (first === "") {
      // suffix-range: the last N bytes.
      const suffix = decimal(last);
      if (suffix === null) return FULL;
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = decimal(first);
    if (start === null) return FULL;
    let end = size - 1;
    if (last !== "") {
      const parsed = decimal(last);
      if (parsed === null || parsed < start) return FULL;
      end = Math.min(parsed, size - 1);
    }
    if (start < size) ranges.push({ start, end });
  }
  if (!sawMember) return FULL;
  if (ranges.length === 0) return UNSATISFIABLE;
  let total = 0;
  for (const r of ranges) total += r.end - r.start + 1;
  if (total > size || overlaps(ranges)) return FULL;
  return { kind: "partial", ranges };
}

/** A non-negative decimal that fits a safe integer, or null. */
function decimal(text: string): number | null {
  if (text.length === 0 || text.length > 15) return null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
  }
  return Number(text);
}

function overlaps(ranges: readonly ByteRange[]): boolean {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start <= sorted[i - 1].end) return true;
  }
  return false;
}

/** The `Content-Range` value for one range. */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/** One part of a multipart/byteranges body: its head and the bytes it carries. */
export interface MultipartPart {
  /** Boundary line and part fields, ending in the empty line. */
  readonly head: string;
  /** The range of the file this part carries. */
  readonly range: ByteRange;
}

/** The layout of a `multipart/byteranges` body (RFC 9110 §14.6). */
export interface MultipartLayout {
  /** The `Content-Type` of the whole body, with the boundary. */
  readonly contentType: string;
  /** The parts in order. */
  readonly parts: readonly MultipartPart[];
  /** The closing delimiter. */
  readonly tail: string;
  /** Exact body length, so the response can carry Content-Length. */
  readonly length: number;
}

/**
 * Lays out a multipart/byteranges body.
 *
 * @param ranges The ranges, in the order asked.
 * @param size The representation's size.
 * @param type The representation's media type.
 * @param boundary A boundary that does not occur in the content (random).
 * @returns The layout with its exact length.
 */
export function multipartLayout(
  ranges: readonly ByteRange[],
  size: number,
  type: string,
  boundary: string,
): MultipartLayout {
  let length = 0;
  const parts = ranges.map((range, i) => {
    const head = `${i === 0 ? "" : "\r\n"}--${boundary}\r\ncontent-type: ${type}\r\n` +
      `content-range: ${contentRange(range, size)}\r\n\r\n`;
    length += head.length + range.end - range.start + 1;
    return { head, range };
  });
  const tail = `\r\n--${boundary}--\r\n`;
  length += tail.length;
  return { contentType: `multipart/byteranges; boundary=${boundary}`, parts, tail, length };
}
