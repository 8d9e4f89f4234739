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

import { join, resolve, SEPARATOR } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { errorResponse } from "../http/error_page.ts";
import { type Logger, silentLogger } from "../log.ts";
import {
  denoFileSystem,
  type FileStat,
  type FileSystem,
  isNotFound,
  isOutOfDescriptors,
} from "./fs.ts";
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
  return createLookup(new DocumentRoot(root, options.fs ?? denoFileSystem), options);
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
  const documentRoot = new DocumentRoot(root, options.fs ?? denoFileSystem);
  const lookup = createLookup(documentRoot, options);
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

/** Finding and opening files under one root, whose real path is learnt once. */
class DocumentRoot {
  readonly path: string;
  readonly #fs: FileSystem;
  #real: Promise<string> | null = null;

  constructor(root: string, fs: FileSystem) {
    this.path = resolve(root);
    this.#fs = fs;
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

  /** Opens a found file and answers with it; null when it is no longer a regular file. */
  async send(request: Request, found: Found, name: string, status = 200): Promise<Response | null> {
    const file = await this.#fs.open(found.path);
    let stat: FileStat;
    try {
      stat = await file.stat();
    } catch (error) {
      file.close();
      throw error;
    }
    if (!stat.isFile) {
      file.close();
      return null;
    }
    return sendFile(request, file, stat, mediaTypeOf(name), status);
  }
}

function createLookup(root: DocumentRoot, options: StaticOptions): StaticLookup {
  const logger = options.logger ?? silentLogger;
  const index = options.index ?? "index.html";

  return async (request: Request, info?: StaticInfo): Promise<Response | StaticMiss> => {
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") return NOT_ALLOWED;
    const url = new URL(request.url);
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
      return await root.send(request, found, name) ?? NOT_FOUND;
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
