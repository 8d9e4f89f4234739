/**
 * Which file a URL path names: percent-decode each segment once, refuse what
 * could not be a plain file name, apply dot segments without ever climbing
 * above the root, and hide dotfiles. Pure; the file system is not touched.
 *
 * @module
 */

import { HttpError } from "../errors.ts";

/** A request path reduced to safe file-name segments. */
export interface StaticPath {
  /** Decoded segments below the root, none empty, `.`, `..` or containing `/`. */
  readonly segments: readonly string[];
  /** Whether the path ended in `/` (or was the root). */
  readonly directory: boolean;
}

/** Options for {@linkcode resolvePath}. */
export interface ResolveOptions {
  /** Serve names starting with `.`; off by default, `/.well-known/` always allowed. */
  dotfiles?: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Resolves the path of a request URL into segments under the root.
 *
 * @param pathname The URL path (starting with `/`), still percent-encoded.
 * @param options Whether dotfiles are served.
 * @returns The segments and whether a directory was asked for.
 * @throws {HttpError} 400 for invalid percent-encoding, encoded `/`, `\` or
 * NUL, control characters or invalid UTF-8; 404 for a path that climbs above
 * the root, contains a raw backslash or names a hidden file.
 *
 * @example
 * ```ts
 * resolvePath("/docs/a%20b.html").segments; // ["docs", "a b.html"]
 * resolvePath("/docs/").directory; // true
 * ```
 */
export function resolvePath(pathname: string, options: ResolveOptions = {}): StaticPath {
  if (pathname.charCodeAt(0) !== 0x2f) throw new HttpError(400, "Path must start with /");
  // A backslash separates paths on other systems (and URL parsers turn it into
  // "/"); a path that contains one is refused like any other way out.
  if (pathname.includes("\\")) throw new HttpError(404);
  const raw = pathname.split("/");
  const segments: string[] = [];
  // Judged after decoding: `%2e%2e` is a dot segment too (RFC 3986 §2.3).
  let directory = true;
  for (let i = 1; i < raw.length; i++) {
    const segment = decodeSegment(raw[i]);
    directory = segment === "" || segment === "." || segment === "..";
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      // RFC 3986 §5.2.4 would clamp at the root; a request that tries to climb
      // out is not a mistake worth serving.
      if (segments.length === 0) throw new HttpError(404);
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  if (!options.dotfiles) {
    for (let i = 0; i < segments.length; i++) {
      if (segments[i].startsWith(".") && !(i === 0 && segments[i] === ".well-known")) {
        throw new HttpError(404);
      }
    }
  }
  return { segments, directory: directory || segments.length === 0 };
}

/** Percent-decodes one segment, refusing anything that is not a plain name. */
function decodeSegment(raw: string): string {
  if (raw.indexOf("%") === -1) {
    for (let i = 0; i < raw.length; i++) checkByte(raw.charCodeAt(i));
    return raw;
  }
  const bytes = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    let b = raw.charCodeAt(i);
    if (b === 0x25) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi === -1 || lo === -1) throw new HttpError(400, "Invalid percent-encoding in path");
      b = hi * 16 + lo;
      i += 2;
    }
    checkByte(b);
    bytes[n++] = b;
  }
  try {
    return utf8.decode(bytes.subarray(0, n));
  } catch {
    throw new HttpError(400, "Path is not valid UTF-8");
  }
}

function checkByte(b: number): void {
  if (b === 0x2f || b === 0x5c) throw new HttpError(400, "Encoded slash or backslash in path");
  if (b < 0x20 || b === 0x7f) throw new HttpError(400, "Control character in path");
  if (b > 0xff) throw new HttpError(400, "Invalid character in path");
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * The canonical URL path for segments, percent-encoded, for redirects built
 * from what was resolved rather than from what the client sent (so `//host`
 * can never become a protocol-relative Location).
 *
 * @param segments Decoded segments.
 * @param directory Whether to end with `/`.
 * @returns A path starting with a single `/`.
 */
export function canonicalPath(segments: readonly string[], directory: boolean): string {
  const path = "/" + segments.map(encodeURIComponent).join("/");
  return directory && segments.length > 0 ? path + "/" : path;
}
