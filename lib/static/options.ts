/**
 * The static layer's public types: its options, what it is told besides the
 * request, and the shapes of its lookup, its handler and its misses.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { Tuning } from "../config.ts";
import type { CacheLimits } from "./cache.ts";
import type { CacheControlPolicy } from "./cache_control.ts";
import type { FileSystem } from "./fs.ts";
import type { FileCompression } from "./policy.ts";
import type { TrailingSlash } from "./locate.ts";

/** The site's rule files, at the top of the root; never served. */
export const RULE_FILES: readonly string[] = Object.freeze(["_headers", "_redirects"]);

/** Options for `staticSite`, `serveStatic` and `staticLookup` (`site.ts`). */
export interface StaticOptions {
  /** The file served for a directory (default `index.html`). */
  index?: string;
  /** Serve `/about` from `about.html` and redirect `/about.html` to `/about` (default false). */
  cleanUrls?: boolean;
  /**
   * Trailing slashes of directories and clean-URL pages (default `auto`:
   * directories get one by redirect, pages none); see `chooseTarget`.
   */
  trailingSlash?: TrailingSlash;
  /**
   * Report a directory without an index as a miss that names it
   * (`StaticMiss.directory`), for a listing; otherwise it is absent (default false).
   */
  list?: boolean;
  /** The page (relative to the root) served with 404, or null for a built-in one (default `404.html`). */
  notFoundPage?: string | null;
  /** Serve names that start with `.` (default false; `/.well-known/` is always served). */
  dotfiles?: boolean;
  /**
   * Names at the top of the root that are never served, whatever the
   * request (default {@linkcode RULE_FILES}: the rule files `_headers` and
   * `_redirects` configure the site and are not part of it).
   */
  hidden?: readonly string[];
  /** Where faults are reported (a file that exists but cannot be read). */
  logger?: Logger;
  /** The file system; the real one by default. */
  fs?: FileSystem;
  /**
   * The hot-file cache's sizes, named as in the server's `Tuning` (default:
   * files up to 64 KiB, 64 MiB in all; `cacheBytes: 0` for none), or false
   * for none. A cached file is looked at again on disk at most a second
   * after its last check, so changes show within a second. `openFiles`
   * (default 256, 0 for none): how many larger files keep their lookup and
   * an open handle for the next request, also for at most a second.
   */
  cache?: Partial<CacheLimits & Pick<Tuning, "openFiles">> | false;
  /**
   * The clock the cache judges freshness by, in milliseconds, monotonic
   * (default `performance.now`); tests advance it instead of sleeping.
   */
  clock?: () => number;
  /**
   * Compression of files: the codings offered, in order of preference
   * (default br, zstd, gzip), and the smallest file compressed (default
   * 1024 bytes); false for none. Only compressible media types are
   * compressed, and precompressed sidecars (`.br`, `.zst`, `.gz`) are
   * preferred when they are not older than the file.
   */
  compression?: Partial<FileCompression> | false;
  /**
   * `Cache-Control` by kind of file: names with a content hash (`hashed`,
   * default `public, max-age=31536000, immutable`), HTML (`html`, default
   * `no-cache`) and the rest (`other`); null turns a rule off.
   */
  cacheControl?: Partial<CacheControlPolicy>;
  /**
   * Largest file whose content tag is computed while its request waits
   * (default 1 MiB); larger files are hashed in the background and carry a
   * tag from their size and modification time until then.
   */
  hashInlineBytes?: number;
}

/** The methods a static path answers. */
export const STATIC_ALLOW = "GET, HEAD, OPTIONS";

/**
 * What the server tells a handler besides the request. When it carries the
 * request-target's raw path, the path is judged as the client sent it, so
 * dot segments that climb out of the root are refused rather than resolved;
 * without it the static layer uses the URL's (already normalised) path.
 */
export interface StaticInfo {
  /** The path as sent, still percent-encoded. */
  readonly rawPath?: string;
}

/** A Fetch handler over the static layer. */
export type StaticHandler = (request: Request, info?: StaticInfo) => Promise<Response>;

/**
 * Why the static layer has no file for a request: the method is not GET or
 * HEAD (405), the path cannot name a file (400), or nothing is there (404).
 */
export interface StaticMiss {
  /** The status a server of files alone answers with. */
  readonly status: 400 | 404 | 405;
  /** A public explanation. */
  readonly message?: string;
  /** With `list`, the directory (absolute, real) that has no index, to be listed. */
  readonly directory?: string;
}

/**
 * Looks a request up under the root: a `Response` when a file (or a
 * directory's index) answers it, with preconditions, ranges and redirects
 * applied, or when the file system fails (403, 503, 500); a
 * {@linkcode StaticMiss} otherwise, so that a caller can pass the request on
 * to an application.
 */
export type StaticLookup = (request: Request, info?: StaticInfo) => Promise<Response | StaticMiss>;
