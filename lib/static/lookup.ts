/**
 * One request through the static layer's questions, in order: is the method
 * one a file answers, which file does the path name (resolve, locate), which
 * store is it sent from (cache or disk), and how is it sent. A file-system
 * failure is mapped once ({@linkcode fileErrorToHttp}) and answered through
 * the one error mapping (`errorToResponse`). HEAD is not applied here but
 * where responses leave the layer (`site.ts`).
 *
 * @module
 */

import { errorToResponse } from "../errors.ts";
import type { Logger } from "../log.ts";
import { fileErrorToHttp } from "./fs.ts";
import { locate } from "./locate.ts";
import { mediaTypeOf } from "./media_type.ts";
import type { StaticInfo, StaticMiss } from "./options.ts";
import { resolvePath } from "./resolve.ts";
import type { DocumentRoot } from "./root.ts";
import { sendFile } from "./send.ts";
import { type FileStore, openFile } from "./store.ts";

/** What a lookup needs: the root, the store, and the options that shape a lookup. */
export interface LookupContext {
  /** The document root. */
  readonly root: DocumentRoot;
  /** The file system and the cache. */
  readonly store: FileStore;
  /** The file served for a directory. */
  readonly index: string;
  /** Whether names starting with `.` are served. */
  readonly dotfiles: boolean;
  /** Where faults are reported. */
  readonly logger: Logger;
}

const NOT_FOUND: StaticMiss = Object.freeze({ status: 404 });
const NOT_ALLOWED: StaticMiss = Object.freeze({ status: 405 });

/**
 * Answers a request with the file it names, or reports a miss. A file
 * found in (or admitted into) the cache through the raw path the server
 * gave is remembered under that path, for a fast path to find.
 *
 * @param context The root, the store and the options.
 * @param request The request.
 * @param info The raw path, when the server knows it.
 * @returns The response (with a GET's body, even for HEAD), or the miss.
 *
 * @example
 * ```ts
 * import { silentLogger } from "../log.ts";
 * import { denoFileSystem } from "./fs.ts";
 * import { DocumentRoot } from "./root.ts";
 *
 * const context = { root: new DocumentRoot("www", denoFileSystem),
 *   store: { fs: denoFileSystem, cache: null }, index: "index.html", dotfiles: false,
 *   logger: silentLogger };
 * const result = await lookupFile(context, new Request("http://localhost/"));
 * ```
 */
export async function lookupFile(
  context: LookupContext,
  request: Request,
  info?: StaticInfo,
): Promise<Response | StaticMiss> {
  if (request.method !== "GET" && request.method !== "HEAD") return NOT_ALLOWED;
  const url = new URL(request.url);
  const path = resolvePath(info?.rawPath ?? url.pathname, { dotfiles: context.dotfiles });
  if (path.kind === "missing") return NOT_FOUND;
  if (path.kind === "bad") return { status: 400, message: path.message };
  const cache = context.store.cache;
  const checkedAt = cache?.now() ?? 0;
  try {
    const location = await locate(context.root, path, context.index);
    if (location.kind === "missing") return NOT_FOUND;
    if (location.kind === "redirect") {
      const headers = { location: location.location + url.search };
      return new Response(null, { status: 301, headers });
    }
    const opened = await openFile(context.store, location.found, mediaTypeOf(location.name));
    if (opened === null) return NOT_FOUND;
    if (opened.cached !== undefined && info?.rawPath !== undefined) {
      cache?.route(info.rawPath, opened.cached, checkedAt);
    }
    return sendFile(request, opened.handle, opened.representation);
  } catch (error) {
    return fileFailure(error, context.logger, url.pathname);
  }
}

/** A file-system failure as a miss (nothing there) or a response (403, 503, or 500 and a log line). */
function fileFailure(error: unknown, logger: Logger, pathname: string): Response | StaticMiss {
  const mapped = fileErrorToHttp(error);
  if (mapped?.status === 404) return NOT_FOUND;
  return errorToResponse(
    mapped ?? error,
    (fault) => logger.error(`cannot serve ${pathname}`, fault),
  );
}
