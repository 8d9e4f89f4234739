/**
 * What is said about a file in a response: its validators and its header
 * set, built here once for every way a file is sent (streamed from disk,
 * from the cache's bytes, or prepared by a fast path outside this layer).
 * Framing (`Content-Length`, `Transfer-Encoding`) and persistence are not
 * part of it; the sender and the wire add them.
 *
 * @module
 */

import type { ContentCoding } from "../encoding/negotiate.ts";
import { fileEtag, type Validators } from "./conditional.ts";
import type { FileStat } from "./fs.ts";

/** Fields of a file response besides its type and validators. */
export interface FileFields {
  /** The representation's content coding (default identity: no `Content-Encoding`). */
  readonly coding?: ContentCoding;
  /** Whether the file has representations in other codings (`Vary: Accept-Encoding`). */
  readonly vary?: boolean;
  /** The `Cache-Control` value, or null for none. */
  readonly cacheControl?: string | null;
}

/**
 * A file as a response describes it: the status, the size of the whole
 * body, the fields, and the validators that preconditions and ranges are
 * judged by.
 */
export interface Representation {
  /** 200 for the file that was asked for; 404 for a not-found page. */
  readonly status: number;
  /** Size of the whole file in bytes. */
  readonly size: number;
  /** Its fields from {@linkcode fileHeaders}; read only (they may be the cache's). */
  readonly headers: Headers;
  /** Its validators, or null for a page that stands for a missing one (no preconditions, no ranges). */
  readonly validators: Validators | null;
}

/**
 * A file's validators: a strong entity tag from its size and modification
 * time, and the modification time itself.
 *
 * @param stat The file's metadata.
 * @returns The validators.
 *
 * @example
 * ```ts
 * fileValidators({ size: 12, mtime: new Date(0) }).etag; // "\"0-c\""
 * ```
 */
export function fileValidators(stat: Pick<FileStat, "size" | "mtime">): Validators {
  return { etag: fileEtag(stat.size, stat.mtime), lastModified: stat.mtime };
}

/**
 * The one builder of a file response's header set: `Content-Type` and
 * `X-Content-Type-Options: nosniff`, then
 * `Content-Encoding`, `Vary` and `Cache-Control` when asked for, and with
 * validators `Accept-Ranges`, `ETag` and `Last-Modified` (RFC 9110 §8.8,
 * §14.3). A response without validators is a page standing in for something
 * missing, which has no version to compare and no ranges to offer.
 *
 * @param type The `Content-Type`.
 * @param validators The file's validators, or null.
 * @param fields The coding, whether other codings exist, and `Cache-Control`.
 * @returns A new `Headers`, without framing fields.
 *
 * @example
 * ```ts
 * const stat = { size: 5, mtime: new Date(0) };
 * fileHeaders("text/plain", fileValidators(stat)).get("accept-ranges"); // "bytes"
 * ```
 */
export function fileHeaders(
  type: string,
  validators: Validators | null,
  fields: FileFields = {},
): Headers {
  // Browsers must not guess another type than the one sent (a text file as a script).
  const headers = new Headers({ "content-type": type, "x-content-type-options": "nosniff" });
  if (fields.coding !== undefined && fields.coding !== "identity") {
    headers.set("content-encoding", fields.coding);
  }
  if (fields.vary) headers.set("vary", "Accept-Encoding");
  if (fields.cacheControl) headers.set("cache-control", fields.cacheControl);
  if (validators === null) return headers;
  headers.set("accept-ranges", "bytes");
  headers.set("etag", validators.etag);
  if (validators.lastModified !== null) {
    headers.set("last-modified", validators.lastModified.toUTCString());
  }
  return headers;
}

/**
 * The fields of a 304 for a file: those of its 200 without `Content-Type`
 * and `Content-Encoding` (RFC 9110 §15.4.5 asks for the validators, `Vary`
 * and `Cache-Control`, which are kept, and nothing that describes content
 * that is not sent).
 *
 * @param headers The 200 response's fields, from {@linkcode fileHeaders}.
 * @returns A new `Headers`.
 *
 * @example
 * ```ts
 * const headers = fileHeaders("text/plain", fileValidators({ size: 1, mtime: null }));
 * notModifiedHeaders(headers).has("content-type"); // false
 * ```
 */
export function notModifiedHeaders(headers: Headers): Headers {
  const copy = new Headers(headers);
  copy.delete("content-type");
  copy.delete("content-encoding");
  return copy;
}

/**
 * A file that was asked for, as a 200 with its validators.
 *
 * @param stat The file's metadata (from the open handle).
 * @param type Its `Content-Type`.
 * @returns The representation.
 *
 * @example
 * ```ts
 * fileRepresentation({ size: 5, mtime: new Date(0) }, "text/plain").status; // 200
 * ```
 */
export function fileRepresentation(
  stat: Pick<FileStat, "size" | "mtime">,
  type: string,
): Representation {
  const validators = fileValidators(stat);
  return { status: 200, size: stat.size, headers: fileHeaders(type, validators), validators };
}

/**
 * A file sent in place of something else (the not-found page): another
 * status and no validators, so it is sent whole whatever the request's
 * preconditions and ranges (they are about the resource asked for).
 *
 * @param size The page's size.
 * @param type Its `Content-Type`.
 * @param status The status it answers with.
 * @returns The representation.
 *
 * @example
 * ```ts
 * pageRepresentation(66, "text/html; charset=utf-8", 404).validators; // null
 * ```
 */
export function pageRepresentation(size: number, type: string, status: number): Representation {
  return { status, size, headers: fileHeaders(type, null), validators: null };
}
