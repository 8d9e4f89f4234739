/**
 * The static-file layer as Fetch handlers: which file a request names
 * (method, path resolution, symlink containment, directories, index and
 * not-found page). How a file is sent lives in `send.ts`.
 *
 * {@linkcode staticLookup} answers only what a file answers and reports a
 * miss otherwise, so a gateway can hand the request to an application;
 * {@linkcode serveStatic} turns misses into 404, 405 and 400 pages.
 *
 * @module
 */

import type { Shortcut } from "../connection.ts";
import { join, resolve, SEPARATOR } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { errorResponse } from "../http/error_page.ts";
import { type Logger, silentLogger } from "../log.ts";
import {
  denoFileSystem,
  type FileHandle,
  type FileStat,
  type FileSystem,
  isNotFound,
  isOutOfDescriptors,
} from "./fs.ts";
import {
  type CachedFile,
  type CacheLimits,
  cacheShortcut,
  DEFAULT_CACHE_LIMITS,
  FileCache,
  MemoryFile,
} from "./cache.ts";
import { mediaTypeOf } from "./media_type.ts";
import { canonicalPath, resolvePath } from "./resolve.ts";
import { sendFile } from "./send.ts";

/** Options for {@linkcode serveStatic} and {@linkcode staticLookup}. */
export interface StaticOptions {
  /** The file served for a directory (default `index.html`). */
  index?: string;
  /** The page (relative to the root) served with 404, or null for a built-in one (default `404.html`). */
  notFoundPage?: string | null;
  /** Serve names that start with `.` (default false; `/.well-known/` is always served). */
  dotfiles?: boolean;
  /** Where faults are reported (a file that exists but cannot be read). */
  logger?: Logger;
  /** The file system; the real one by default. */
  fs?: FileSystem;
  /**
   * The hot-file cache's sizes (default: files up to 64 KiB, 64 MiB in all),
   * or false for none. A cached file is looked at again on disk at most a
   * second after its last check, so changes show within a second.
   */
  cache?: Partial<CacheLimits> | false;
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
}

/**
 * Looks a request up under the root: a `Response` when a file (or a
 * directory's index) answers it, with preconditions, ranges and redirects
 * applied; a {@linkcode StaticMiss} otherwise, so that a caller can pass the
 * request on to an application.
 */
export type StaticLookup = (request: Request, info?: StaticInfo) => Promise<Response | StaticMiss>;

const NOT_FOUND: StaticMiss = Object.freeze({ status: 404 });
const NOT_ALLOWED: StaticMiss = Object.freeze({ status: 405 });

/**
 * Creates the lookup behind {@linkcode serveStatic}: GET and HEAD requests
 * for files that exist are answered; everything else is a miss.
 *
 * @param root The document root; a relative path is resolved against the working directory.
 * @param options How to treat directories and dotfiles.
 * @returns The lookup.
 *
 * @example
 * ```ts
 * const files = staticLookup("www");
 * const result = await files(new Request("http://localhost/"));
 * const response = result instanceof Response ? result : new Response("none", { status: 404 });
 * ```
 */
export function staticLookup(root: string, options: StaticOptions = {}): StaticLookup {
  return staticSite(root, options).lookup;
}

/**
 * Creates a Fetch handler that serves files under `root` and answers what
 * has no file with the root's `404.html` (or a built-in page), 405 with
 * `Allow` for methods other than GET, HEAD and OPTIONS, and 400 for paths
 * that cannot name a file.
 *
 * @param root The document root; a relative path is resolved against the working directory.
 * @param options How to treat directories, dotfiles and misses.
 * @returns The handler.
 *
 * @example
 * ```ts
 * const files = serveStatic("www");
 * const response = await files(new Request("http://localhost/"));
 * ```
 */
export function serveStatic(root: string, options: StaticOptions = {}): StaticHandler {
  return staticSite(root, options).handler;
}

/**
 * One document root served three ways that share its cache: the lookup
 * ({@linkcode staticLookup}), the handler ({@linkcode serveStatic}), and a
 * shortcut with which a server answers cached files before any `Request`
 * is built.
 */
export interface StaticSite {
  /** Answers what a file answers; reports a miss otherwise. */
  readonly lookup: StaticLookup;
  /** Answers everything, with 404, 405 and 400 pages for misses. */
  readonly handler: StaticHandler;
  /** Answers cached files from the request head, or null without a cache. */
  readonly shortcut: Shortcut | null;
  /** The hot-file cache, or null without one. */
  readonly cache: FileCache | null;
}

/**
 * Creates the lookup, the handler and the shortcut for a document root.
 *
 * @param root The document root; a relative path is resolved against the working directory.
 * @param options How to treat directories, dotfiles and misses, and the cache.
 * @returns The three, sharing one cache.
 *
 * @example
 * ```ts
 * const site = staticSite("www");
 * const response = await site.handler(new Request("http://localhost/"));
 * ```
 */
export function staticSite(root: string, options: StaticOptions = {}): StaticSite {
  const limits = options.cache === false ? null : { ...DEFAULT_CACHE_LIMITS, ...options.cache };
  const cache = limits === null || limits.maxTotalBytes === 0 ? null : new FileCache(limits);
  const documentRoot = new DocumentRoot(root, options.fs ?? denoFileSystem, cache);
  const lookup = createLookup(documentRoot, options);
  const handler = staticHandler(documentRoot, lookup, options);
  return { lookup, handler, shortcut: cache === null ? null : cacheShortcut(cache), cache };
}

function staticHandler(
  documentRoot: DocumentRoot,
  lookup: StaticLookup,
  options: StaticOptions,
): StaticHandler {
  const logger = options.logger ?? silentLogger;
  const notFoundPage = options.notFoundPage === undefined ? "404.html" : options.notFoundPage;

  const notFound = async (request: Request): Promise<Response> => {
    if (notFoundPage !== null) {
      try {
        const found = await documentRoot.find(join(documentRoot.path, notFoundPage));
        if (found?.stat.isFile) {
          const response = await documentRoot.send(request, found, notFoundPage, 404);
          if (response !== null) return response;
        }
      } catch (error) {
        logger.error("cannot read the not-found page", error);
      }
    }
    return withoutBodyForHead(request, errorResponse(404));
  };

  return async (request: Request, info?: StaticInfo): Promise<Response> => {
    const result = await lookup(request, info);
    if (result instanceof Response) return result;
    if (result.status === 404) return await notFound(request);
    if (result.status === 405) {
      if (request.method === "OPTIONS") {
        return new Response(null, { status: 204, headers: { allow: STATIC_ALLOW } });
      }
      return errorResponse(405, undefined, { allow: STATIC_ALLOW });
    }
    // A path that cannot be a file name is bad input: answer and close.
    const headers = { connection: "close" };
    return withoutBodyForHead(request, errorResponse(result.status, result.message, headers));
  };
}

/** A file found under the root. */
interface Found {
  readonly path: string;
  readonly stat: FileStat;
}

/** Where a request path led, for the cache to remember. */
interface Route {
  /** The raw request path. */
  readonly path: string;
  /** When its lookup began, by the cache's clock. */
  readonly checkedAt: number;
}

/**
 * Finding and opening files under one root, whose real path is learnt once,
 * with small files kept in the cache.
 */
class DocumentRoot {
  readonly path: string;
  readonly cache: FileCache | null;
  readonly #fs: FileSystem;
  #real: Promise<string> | null = null;

  constructor(root: string, fs: FileSystem, cache: FileCache | null) {
    this.path = resolve(root);
    this.#fs = fs;
    this.cache = cache;
  }

  /** Finds what `path` names, or null when it does not exist or lies outside the root. */
  async find(path: string): Promise<Found | null> {
    this.#real ??= this.#fs.realPath(this.path);
    let root: string;
    try {
      root = await this.#real;
    } catch (error) {
      this.#real = null; // Ask again next time: the failure may pass (EMFILE, a remount).
      throw error;
    }
    let real: string;
    try {
      real = await this.#fs.realPath(path);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    // A symlink may point anywhere; only what really lies under the root is served.
    const prefix = root.endsWith(SEPARATOR) ? root : root + SEPARATOR;
    if (real !== root && !real.startsWith(prefix)) return null;
    try {
      return { path: real, stat: await this.#fs.stat(real) };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /**
   * Answers with a found file, from the cache when it holds this version of
   * it; null when it is no longer a regular file. A file the cache would
   * keep is read whole and kept; `route` is the request path that led to
   * it, remembered for the shortcut.
   */
  async send(
    request: Request,
    found: Found,
    name: string,
    status = 200,
    route?: Route,
  ): Promise<Response | null> {
    const cache = status === 200 ? this.cache : null;
    let cached = cache?.get(found.path, found.stat);
    if (cached === undefined) {
      const file = await this.#fs.open(found.path);
      let stat: FileStat;
      try {
        stat = await file.stat();
        if (!stat.isFile) {
          file.close();
          return null;
        }
        if (cache?.accepts(stat.size)) {
          const body = await readWhole(file, stat.size);
          if (body !== null) {
            file.close();
            cached = cache.add(found.path, stat, body, mediaTypeOf(name));
          } else {
            // It shrank while being read: send it as a stream, which fails as it should.
            await file.seek(0, Deno.SeekMode.Start);
          }
        }
      } catch (error) {
        file.close();
        throw error;
      }
      if (cached === undefined) return sendFile(request, file, stat, mediaTypeOf(name), status);
    }
    if (route !== undefined) cache!.route(route.path, cached, route.checkedAt);
    return fromCache(request, cached);
  }
}

/** The response for a cached file, through the same send path as an open one. */
function fromCache(request: Request, file: CachedFile): Response {
  return sendFile(request, new MemoryFile(file), file.stat, file.type);
}

/**
 * Reads `size` bytes from the start of an open file.
 *
 * @returns The bytes, or null when the file ended sooner.
 */
async function readWhole(file: FileHandle, size: number): Promise<Uint8Array | null> {
  const bytes = new Uint8Array(size);
  let n = 0;
  while (n < size) {
    const read = await file.read(bytes.subarray(n));
    if (read === null) return null;
    n += read;
  }
  return bytes;
}

function createLookup(root: DocumentRoot, options: StaticOptions): StaticLookup {
  const logger = options.logger ?? silentLogger;
  const index = options.index ?? "index.html";

  return async (request: Request, info?: StaticInfo): Promise<Response | StaticMiss> => {
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") return NOT_ALLOWED;
    const url = new URL(request.url);
    const checkedAt = root.cache?.now() ?? 0;
    try {
      const path = resolvePath(info?.rawPath ?? url.pathname, { dotfiles: options.dotfiles });
      const candidate = join(root.path, ...path.segments);
      let found = await root.find(candidate);
      let name = path.segments.at(-1) ?? "";
      if (found === null) return NOT_FOUND;
      if (found.stat.isDirectory) {
        // A directory is answered only through its index; without one it is a miss.
        const indexFound = await root.find(join(candidate, index));
        if (indexFound === null || !indexFound.stat.isFile) return NOT_FOUND;
        if (!path.directory) {
          const location = canonicalPath(path.segments, true) + url.search;
          return new Response(null, { status: 301, headers: { location } });
        }
        found = indexFound;
        name = index;
      } else if (path.directory) {
        // "/file.html/" names a directory that does not exist.
        return NOT_FOUND;
      }
      if (!found.stat.isFile) return NOT_FOUND;
      const route = info?.rawPath === undefined ? undefined : { path: info.rawPath, checkedAt };
      return await root.send(request, found, name, 200, route) ?? NOT_FOUND;
    } catch (error) {
      if (error instanceof HttpError) {
        return error.status === 400 ? { status: 400, message: error.message } : NOT_FOUND;
      }
      if (isNotFound(error)) return NOT_FOUND;
      logger.error(`cannot serve ${url.pathname}`, error);
      // Out of file descriptors is passing: say so, and when to come back.
      if (isOutOfDescriptors(error)) {
        return withoutBodyForHead(request, errorResponse(503, undefined, { "retry-after": "1" }));
      }
      return withoutBodyForHead(request, errorResponse(500));
    }
  };
}

/** HEAD gets the GET's fields and no body. */
function withoutBodyForHead(request: Request, response: Response): Response {
  if (request.method !== "HEAD" || response.body === null) return response;
  response.body.cancel();
  return new Response(null, { status: response.status, headers: response.headers });
}
