/**
 * Which media types are worth compressing, decided by one table.
 *
 * @module
 */

/**
 * The media types worth compressing: text and text-based formats, plus the
 * few binary formats that are stored uncompressed (icons, bitmaps, TrueType
 * and OpenType fonts, WebAssembly).
 *
 * Everything else is not: formats that are compressed already (PNG, JPEG,
 * GIF, WebP, AVIF, WOFF, WOFF2, audio, video, zip, gzip, brotli, zstd, 7z,
 * PDF), unknown bytes (`application/octet-stream`) and `multipart/*`, whose
 * parts each have their own type.
 */
const COMPRESSIBLE = {
  /** Top-level types all of whose subtypes are text. */
  types: ["text"],
  /**
   * Structured syntax suffixes (RFC 6838 §4.2.8) whose base format is text:
   * `application/ld+json`, `application/problem+json`, `image/svg+xml`, …
   */
  suffixes: ["+json", "+xml"],
  /** Single types, in lower case, without parameters. */
  essences: [
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/json",
    "application/x-ndjson",
    "application/xml",
    "application/toml",
    "application/yaml",
    "application/x-yaml",
    "application/wasm",
    "application/x-font-ttf",
    "application/vnd.ms-fontobject",
    "font/ttf",
    "font/otf",
    "font/collection",
    "image/x-icon",
    "image/vnd.microsoft.icon",
    "image/bmp",
  ],
} as const;

const ESSENCES: ReadonlySet<string> = new Set(COMPRESSIBLE.essences);
const TYPES: ReadonlySet<string> = new Set(COMPRESSIBLE.types);

/** `type "/" subtype`, both tokens (RFC 9110 §8.3.1, §5.6.2), in lower case. */
const MEDIA_TYPE = /^[!#$%&'*+\-.^_`|~0-9a-z]+\/[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * Whether a response of this `Content-Type` is worth compressing, by the
 * `COMPRESSIBLE` table in this file. Parameters (`; charset=utf-8`) are
 * ignored, case does not matter and surrounding whitespace is tolerated. A
 * value that is not `type/subtype` is not compressible.
 *
 * @param contentType The `Content-Type` value, or `null` when there is none.
 * @returns `true` when compressing the body is likely to pay off.
 *
 * @example
 * ```ts
 * isCompressible("text/html; charset=utf-8"); // true
 * isCompressible("image/svg+xml"); // true
 * isCompressible("image/png"); // false
 * isCompressible(null); // false
 * ```
 */
export function isCompressible(contentType: string | null): boolean {
  if (contentType === null) return false;
  const semi = contentType.indexOf(";");
  const essence = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (!MEDIA_TYPE.test(essence)) return false;
  const slash = essence.indexOf("/");
  if (ESSENCES.has(essence)) return true;
  if (TYPES.has(essence.slice(0, slash))) return true;
  for (const suffix of COMPRESSIBLE.suffixes) {
    // The suffix follows a subtype name of at least one character (`x/+json` is not one).
    if (essence.endsWith(suffix) && essence.length - suffix.length > slash + 1) return true;
  }
  return false;
}
