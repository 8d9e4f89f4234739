/**
 * Which file a URL path names: percent-decode each segment once, refuse what
 * could not be a plain file name, apply dot segments without ever climbing
 * above the root, and hide dotfiles. Pure; the file system is not touched,
 * and every outcome is a value ({@linkcode ResolvedPath}), not an exception.
 *
 * @module
 */

/** Options for {@linkcode resolvePath}. */
export interface ResolveOptions {
  /** Serve names starting with `.`; off by default, `/.well-known/` always allowed. */
  dotfiles?: boolean;
  /** Names at the top of the root that are never served (the site's rule files). */
  hidden?: ReadonlySet<string>;
}

/** A request path reduced to safe file-name segments. */
export interface StaticPath {
  readonly kind: "file";
  /** Decoded segments below the root, none empty, `.`, `..` or containing `/`. */
  readonly segments: readonly string[];
  /** Whether the path ended in `/` (or was the root). */
  readonly directory: boolean;
}

/**
 * What a request path names: segments under the root; nothing that may be
 * served (a path that climbs above the root, holds a raw backslash or names a
 * hidden file: answered as if absent, 404); or no file name at all (400,
 * with a public message).
 */
export type ResolvedPath =
  | StaticPath
  | { readonly kind: "missing" }
  | { readonly kind: "bad"; readonly message: string };

const MISSING: ResolvedPath = Object.freeze({ kind: "missing" });

/** A decoded segment, or why it is not a plain name. */
type Decoded = { readonly name: string } | { readonly bad: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Resolves the path of a request URL into segments under the root.
 *
 * @param pathname The URL path (starting with `/`), still percent-encoded.
 * @param options Whether dotfiles are served, and the names at the top that never are.
 * @returns `{ kind: "file", segments, directory }`; `{ kind: "bad", message }`
 * for invalid percent-encoding, encoded `/`, `\` or NUL, control characters or
 * invalid UTF-8; `{ kind: "missing" }` for a path that climbs above the root,
 * contains a raw backslash or names a hidden file.
 *
 * @example
 * ```ts
 * const path = resolvePath("/docs/a%20b.html");
 * if (path.kind === "file") path.segments; // ["docs", "a b.html"]
 * resolvePath("/../etc/passwd").kind; // "missing"
 * ```
 */
export function resolvePath(pathname: string, options: ResolveOptions = {}): ResolvedPath {
  if (pathname.charCodeAt(0) !== 0x2f) return bad("Path must start with /");
  // A backslash separates paths on other systems (and URL parsers turn it into
  // "/"); a path that contains one is refused like any other way out.
  if (pathname.includes("\\")) return MISSING;
  const raw = pathname.split("/");
  const segments: string[] = [];
  // Judged after decoding: `%2e%2e` is a dot segment too (RFC 3986 §2.3).
  let directory = true;
  for (let i = 1; i < raw.length; i++) {
    const decoded = decodeSegment(raw[i]);
    if ("bad" in decoded) return bad(decoded.bad);
    const segment = decoded.name;
    directory = segment === "" || segment === "." || segment === "..";
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      // RFC 3986 §5.2.4 would clamp at the root; a request that tries to climb
      // out is not a mistake worth serving.
      if (segments.length === 0) return MISSING;
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  if (!options.dotfiles && segments.some(isHidden)) return MISSING;
  if (segments.length === 1 && options.hidden?.has(segments[0])) return MISSING;
  return { kind: "file", segments, directory: directory || segments.length === 0 };
}

function bad(message: string): ResolvedPath {
  return { kind: "bad", message };
}

/** A name starting with `.`, except `.well-known` as the first segment (RFC 8615). */
function isHidden(segment: string, index: number): boolean {
  return segment.startsWith(".") && !(index === 0 && segment === ".well-known");
}

/** Percent-decodes one segment, refusing anything that is not a plain name. */
function decodeSegment(raw: string): Decoded {
  if (raw.indexOf("%") === -1) {
    for (let i = 0; i < raw.length; i++) {
      const why = byteProblem(raw.charCodeAt(i));
      if (why !== null) return { bad: why };
    }
    return { name: raw };
  }
  const bytes = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    let b = raw.charCodeAt(i);
    if (b === 0x25) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi === -1 || lo === -1) return { bad: "Invalid percent-encoding in path" };
      b = hi * 16 + lo;
      i += 2;
    }
    const why = byteProblem(b);
    if (why !== null) return { bad: why };
    bytes[n++] = b;
  }
  try {
    return { name: utf8.decode(bytes.subarray(0, n)) };
  } catch {
    return { bad: "Path is not valid UTF-8" };
  }
}

/** Why a byte cannot be part of a file name, or null when it can. */
function byteProblem(b: number): string | null {
  if (b === 0x2f || b === 0x5c) return "Encoded slash or backslash in path";
  if (b < 0x20 || b === 0x7f) return "Control character in path";
  if (b > 0xff) return "Invalid character in path";
  return null;
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
 *
 * @example
 * ```ts
 * canonicalPath(["docs", "a b"], true); // "/docs/a%20b/"
 * ```
 */
export function canonicalPath(segments: readonly string[], directory: boolean): string {
  const path = "/" + segments.map(encodeURIComponent).join("/");
  return directory && segments.length > 0 ? path + "/" : path;
}
