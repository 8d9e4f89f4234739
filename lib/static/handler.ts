/**
 * The static-file layer as a plain Fetch handler: which file a request names
 * (method, path resolution, symlink containment, directories, index and
 * not-found page). How a file is sent lives in `send.ts`.
 *
 * @module
 */

import { join, resolve, SEPARATOR } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { errorResponse } from "../http/error_page.ts";
import { type Logger, silentLogger } from "../log.ts";
import { denoFileSystem, type FileStat, type FileSystem, isNotFound } from "./fs.ts";
import { mediaTypeOf } from "./media_type.ts";
import { canonicalPath, resolvePath } from "./resolve.ts";
import { sendFile } from "./send.ts";

/** Options for {@linkcode serveStatic}. */
export interface StaticOptions {
  /** The document root; relative paths are resolved against the working directory. */
  root: string;
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
 * A Fetch handler. When the server passes the request-target's raw path
 * (`info.rawPath`), the path is judged as the client sent it, so dot
 * segments that climb out of the root are refused rather than resolved.
 */
export type StaticHandler = (
  request: Request,
  info?: { readonly rawPath?: string },
) => Promise<Response>;

/** A file found under the root. */
interface Found {
  readonly path: string;
  readonly stat: FileStat;
}

/**
 * Creates a Fetch handler that serves files under `root`.
 *
 * @param options The root and how to treat directories, dotfiles and misses.
 * @returns The handler.
 *
 * @example
 * ```ts
 * const handler = serveStatic({ root: "www" });
 * const response = await handler(new Request("http://localhost/"));
 * ```
 */
export function serveStatic(options: StaticOptions): StaticHandler {
  const fs = options.fs ?? denoFileSystem;
  const logger = options.logger ?? silentLogger;
  const index = options.index ?? "index.html";
  const notFoundPage = options.notFoundPage === undefined ? "404.html" : options.notFoundPage;
  const rootPath = resolve(options.root);
  let rootReal: Promise<string> | null = null;

  /** Finds what `path` names, or null when it does not exist or lies outside the root. */
  const lookup = async (path: string): Promise<Found | null> => {
    rootReal ??= fs.realPath(rootPath);
    let root: string;
    try {
      root = await rootReal;
    } catch (error) {
      rootReal = null; // Ask again next time: the failure may pass (EMFILE, a remount).
      throw error;
    }
    let real: string;
    try {
      real = await fs.realPath(path);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    // A symlink may point anywhere; only what really lies under the root is served.
    if (real !== root && !real.startsWith(root.endsWith(SEPARATOR) ? root : root + SEPARATOR)) {
      return null;
    }
    try {
      return { path: real, stat: await fs.stat(real) };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  };

  const send = async (request: Request, found: Found, name: string, status = 200) => {
    const file = await fs.open(found.path);
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
  };

  const notFound = async (request: Request): Promise<Response> => {
    if (notFoundPage !== null) {
      try {
        const found = await lookup(join(rootPath, notFoundPage));
        if (found?.stat.isFile) {
          const response = await send(request, found, notFoundPage, 404);
          if (response !== null) return response;
        }
      } catch (error) {
        logger.error("cannot read the not-found page", error);
      }
    }
    return withoutBodyForHead(request, errorResponse(404));
  };

  return async (request: Request, info?: { readonly rawPath?: string }): Promise<Response> => {
    const method = request.method;
    if (method === "OPTIONS") {
      return new Response(null, { status: 204, headers: { allow: STATIC_ALLOW } });
    }
    if (method !== "GET" && method !== "HEAD") {
      return errorResponse(405, undefined, { allow: STATIC_ALLOW });
    }
    const url = new URL(request.url);
    try {
      const path = resolvePath(info?.rawPath ?? url.pathname, { dotfiles: options.dotfiles });
      const candidate = join(rootPath, ...path.segments);
      let found = await lookup(candidate);
      let name = path.segments.at(-1) ?? "";
      if (found === null) return await notFound(request);
      if (found.stat.isDirectory) {
        if (!path.directory) {
          const location = canonicalPath(path.segments, true) + url.search;
          return new Response(null, { status: 301, headers: { location } });
        }
        found = await lookup(join(candidate, index));
        name = index;
        if (found === null) return await notFound(request);
      } else if (path.directory) {
        // "/file.html/" names a directory that does not exist.
        return await notFound(request);
      }
      if (!found.stat.isFile) return await notFound(request);
      return await send(request, found, name) ?? await notFound(request);
    } catch (error) {
      if (error instanceof HttpError) {
        if (error.status === 404) return await notFound(request);
        // A path that cannot be a file name is bad input: answer and close.
        const headers = { connection: "close" };
        return withoutBodyForHead(request, errorResponse(error.status, error.message, headers));
      }
      if (isNotFound(error)) return await notFound(request);
      logger.error(`cannot serve ${url.pathname}`, error);
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
