/**
 * The `Content-Type` for a file name.
 *
 * @module
 */

import { contentType, extname } from "../deps.ts";

/** What unknown extensions are sent as: bytes the browser should not sniff. */
export const DEFAULT_MEDIA_TYPE = "application/octet-stream";

/**
 * The media type for a file name by its extension, with `charset=utf-8` for
 * text types.
 *
 * @param name A file name or path.
 * @returns The `Content-Type` value.
 *
 * @example
 * ```ts
 * mediaTypeOf("index.html"); // "text/html; charset=utf-8"
 * mediaTypeOf("logo.svg"); // "image/svg+xml"
 * ```
 */
export function mediaTypeOf(name: string): string {
  const ext = extname(name).toLowerCase();
  if (ext === "") return DEFAULT_MEDIA_TYPE;
  const type = contentType(ext);
  if (type === undefined) return DEFAULT_MEDIA_TYPE;
  return type.replace(/charset=utf-8/i, "charset=utf-8");
}
