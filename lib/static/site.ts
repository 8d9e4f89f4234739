/**
 * The static layer composed: a document root's lookup and handler, sharing
 * one cache, with the pages that answer misses (404, 405, 400) and HEAD
 * applied where responses leave the layer.
 *
 * {@linkcode staticLookup} answers only what a file answers and reports a
 * miss otherwise, so a gateway can hand the request to an application;
 * {@linkcode serveStatic} turns misses into pages.
 *
 * @module
 */

import { join } from "../deps.ts";
import { errorResponse } from "../http/error_page.ts";
import type { ContentCoding } from "../encoding/negotiate.ts";
import type { FileCache } from "./cache.ts";
import { isNotFound } from "./fs.ts";
import { pageRepresentation } from "./headers.ts";
import { type LookupContext, lookupContext, lookupFile } from "./lookup.ts";
import { mediaTypeOf } from "./media_type.ts";
import {
  STATIC_ALLOW,
  type StaticHandler,
  type StaticLookup,
  type StaticMiss,
  type StaticOptions,
} from "./options.ts";
import { headResponse, sendFile } from "./send.ts";
import { resolvePath } from "./resolve.ts";
import { openFile } from "./store.ts";

/**
 * One document root served two ways that share its cache: the lookup
 * ({@linkcode staticLookup}) and the handler ({@linkcode serveStatic}); and
 * the cache itself, for a fast path that answers cached files before any
 * `Request` is built.
 */
export interface StaticSite {
  /** Answers what a file answers; reports a miss otherwise. */
  readonly lookup: StaticLookup;
  /** Answers everything, with 404, 405 and 400 pages for misses. */
  readonly handler: StaticHandler;
  /** The lookup with a GET's body even for HEAD, for a layer that answers HEAD itself. */
  readonly find: StaticLookup;
  /** The page a handler answers a miss with (a GET's body even for HEAD). */
  readonly missPage: (request: Request, miss: StaticMiss) => Promise<Response>;
  /**
   * A file under the root sent as a page with the given status and no
   * validators (a not-found page, an error page, a single-page app's
   * shell), or null when it is not there or cannot be read.
   */
  readonly page: (
    request: Request,
    path: string,
    status: number,
    from?: PageSource,
  ) => Promise<Response | null>;
  /** Closes the files kept open for the next request; the site serves no more after it. */
  readonly close: () => void;
  /** The hot-file cache, or null without one. */
  readonly cache: FileCache | null;
  /** The coding `Accept-Encoding` selects for a compressible file (for the fast path). */
  readonly negotiate: (accept: string | null) => ContentCoding;
  /** Resolves when the files being hashed in the background are done. */
  readonly settled: () => Promise<void>;
}

/**
 * Where a page's path came from: the configuration (the not-found page, an
 * error page, a single-page app's page: anything under the root, dotfiles
 * included), or a request (a rewrite's target: held to what a request may
 * reach, so no dotfiles unless they are served, and never the rule files).
 */
export type PageSource = "configuration" | "request";

/** What the handler needs besides a lookup's: the not-found page. */
interface SiteContext extends LookupContext {
  /** The page served with 404, relative to the root, or null for the built-in one. */
  readonly notFoundPage: string | null;
}

/**
 * Creates the lookup and the handler for a document root.
 *
 * @param root The document root; a relative path is resolved against the working directory.
 * @param options How to treat directories, dotfiles and misses; the cache and its clock.
 * @returns The two, sharing one cache, and the cache.
 *
 * @example
 * ```ts
 * const site = staticSite("www");
 * const response = await site.handler(new Request("http://localhost/"));
 * ```
 */
export function staticSite(root: string, options: StaticOptions = {}): StaticSite {
  const context = siteContext(root, options);
  const lookup: StaticLookup = async (request, info) => {
    const result = await lookupFile(context, request, info);
    return result instanceof Response ? headResponse(request, result) : result;
  };
  const handler: StaticHandler = async (request, info) => {
    const result = await lookupFile(context, request, info);
    const response = result instanceof Response ? result : await missPage(context, request, result);
    return headResponse(request, response);
  };
  const { store, policy } = context;
  return {
    lookup,
    handler,
    find: (request, info) => lookupFile(context, request, info),
    missPage: (request, miss) => missPage(context, request, miss),
    page: (request, path, status, from = "configuration") =>
      filePage(context, request, path, status, from),
    close: () => store.openFiles?.close(),
    cache: store.cache,
    negotiate: policy.negotiate,
    settled: () => store.digests.settled(),
  };
}

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

function siteContext(root: string, options: StaticOptions): SiteContext {
  return {
    ...lookupContext(root, options),
    notFoundPage: options.notFoundPage === undefined ? "404.html" : options.notFoundPage,
  };
}

/** The page for a miss: the not-found page, 204 or 405 with `Allow`, or 400. */
async function missPage(
  context: SiteContext,
  request: Request,
  miss: StaticMiss,
): Promise<Response> {
  if (miss.status === 404) return await notFound(context, request);
  if (miss.status === 405) {
    if (request.method === "OPTIONS") {
      return new Response(null, { status: 204, headers: { allow: STATIC_ALLOW } });
    }
    return errorResponse(405, undefined, { allow: STATIC_ALLOW });
  }
  // A path that cannot be a file name is bad input: answer, and ask the
  // server to close rather than read more from that client.
  return errorResponse(miss.status, miss.message, { connection: "close" });
}

/**
 * The root's not-found page, through the same store and send path as any
 * file but as a 404 without validators; the built-in page when there is
 * none or it cannot be read (which is reported: the page was meant to be
 * there).
 */
async function notFound(context: SiteContext, request: Request): Promise<Response> {
  const page = context.notFoundPage;
  if (page === null) return errorResponse(404);
  return await filePage(context, request, page, 404) ?? errorResponse(404);
}

/**
 * A file under the root sent through the same store and send path as any
 * file, but with `status` and without validators; null when it is not there
 * or cannot be read (which is reported: the page was meant to be there).
 * The path is the configuration's, relative to the root; it is resolved
 * like a request path, so it cannot leave the root.
 */
async function filePage(
  context: LookupContext,
  request: Request,
  page: string,
  status: number,
  from: PageSource = "configuration",
): Promise<Response | null> {
  // A page the configuration names may be anything under the root; a path
  // that came from a request is held to what a request may reach.
  const resolve = from === "configuration"
    ? { dotfiles: true }
    : { dotfiles: context.dotfiles, hidden: context.hidden };
  const path = resolvePath(page.startsWith("/") ? page : `/${page}`, resolve);
  if (path.kind !== "file" || path.segments.length === 0) return null;
  const name = path.segments[path.segments.length - 1];
  try {
    const found = await context.root.find(join(context.root.path, ...path.segments));
    const type = mediaTypeOf(name);
    const opened = found?.stat.isFile
      ? await openFile(context.store, found, name, type, context.policy)
      : null;
    if (opened === null) return null;
    const representation = pageRepresentation(opened.representation.size, type, status);
    return sendFile(request, opened.handle, representation);
  } catch (error) {
    if (!isNotFound(error)) context.logger.error(`cannot read the page ${page}`, error);
    return null;
  }
}
