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

import { DEFAULT_TUNING } from "../config.ts";
import { errorToResponse } from "../errors.ts";
import { type Logger, silentLogger } from "../log.ts";
import { DEFAULT_CACHE_LIMITS, FileCache, REVALIDATE_MS } from "./cache.ts";
import { DEFAULT_INLINE_HASH_BYTES, FileDigests } from "./digest.ts";
import { Encoder } from "./encoded.ts";
import { denoFileSystem, fileErrorToHttp } from "./fs.ts";
import { DEFAULT_LAYOUT, type Layout, locate } from "./locate.ts";
import { mediaTypeOf } from "./media_type.ts";
import { OpenFiles } from "./open_files.ts";
import { RULE_FILES, type StaticInfo, type StaticMiss, type StaticOptions } from "./options.ts";
import { resolvePath } from "./resolve.ts";
import { DocumentRoot } from "./root.ts";
import { type ContentPolicy, contentPolicy, requestedCoding } from "./policy.ts";
import { sendFile, sendStream } from "./send.ts";
import { type FileStore, type OpenedFile, openFile } from "./store.ts";

/** What a lookup needs: the root, the store, and the options that shape a lookup. */
export interface LookupContext {
  /** The document root. */
  readonly root: DocumentRoot;
  /** The file system and the cache. */
  readonly store: FileStore;
  /** The index's name, clean URLs, trailing slashes and listings. */
  readonly layout: Layout;
  /** Whether names starting with `.` are served. */
  readonly dotfiles: boolean;
  /** Names at the top of the root never served. */
  readonly hidden: ReadonlySet<string>;
  /** Where faults are reported. */
  readonly logger: Logger;
  /** Codings and `Cache-Control`. */
  readonly policy: ContentPolicy;
  /** Makes the encoded representations. */
  readonly encoder: Encoder;
}

/**
 * The lookup context for a root and the static layer's options: its file
 * system, cache, digests, content policy and encoder.
 *
 * @param root The document root; a relative path is resolved against the working directory.
 * @param options The static layer's options.
 * @returns The context.
 *
 * @example
 * ```ts
 * lookupContext("www", { cache: false }).store.cache; // null
 * ```
 */
export function lookupContext(root: string, options: StaticOptions): LookupContext {
  const fs = options.fs ?? denoFileSystem;
  const cache = cacheFor(options);
  const openFiles = cache === null ? null : openFilesFor(cache, options);
  const documentRoot = new DocumentRoot(root, fs, openFiles);
  const policy = contentPolicy(options.compression, options.cacheControl);
  const inlineBytes = options.hashInlineBytes ?? DEFAULT_INLINE_HASH_BYTES;
  return {
    root: documentRoot,
    store: { fs, cache, digests: new FileDigests(fs, { inlineBytes }), openFiles },
    layout: {
      index: options.index ?? DEFAULT_LAYOUT.index,
      cleanUrls: options.cleanUrls ?? DEFAULT_LAYOUT.cleanUrls,
      trailingSlash: options.trailingSlash ?? DEFAULT_LAYOUT.trailingSlash,
      list: options.list ?? DEFAULT_LAYOUT.list,
    },
    dotfiles: options.dotfiles ?? false,
    hidden: new Set(options.hidden ?? RULE_FILES),
    logger: options.logger ?? silentLogger,
    policy,
    encoder: new Encoder({ root: documentRoot, policy, cache, open: (path) => fs.open(path) }),
  };
}

/**
 * The open-file cache beside a hot cache, for the files it does not keep;
 * none with `openFiles` 0.
 */
function openFilesFor(cache: FileCache, options: StaticOptions): OpenFiles | null {
  const max = (options.cache === false ? 0 : options.cache?.openFiles) ?? DEFAULT_TUNING.openFiles;
  if (max === 0) return null;
  return new OpenFiles(max, cache.limits.cacheFileBytes, REVALIDATE_MS, options.clock);
}

/** The cache the options ask for, or null for none. */
function cacheFor(options: StaticOptions): FileCache | null {
  if (options.cache === false) return null;
  const limits = { ...DEFAULT_CACHE_LIMITS, ...options.cache };
  if (limits.cacheBytes === 0) return null;
  return new FileCache(limits, REVALIDATE_MS, options.clock);
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
 * const result = await lookupFile(lookupContext("www", {}), new Request("http://localhost/"));
 * ```
 */
export async function lookupFile(
  context: LookupContext,
  request: Request,
  info?: StaticInfo,
): Promise<Response | StaticMiss> {
  if (request.method !== "GET" && request.method !== "HEAD") return NOT_ALLOWED;
  const url = new URL(request.url);
  const path = resolvePath(info?.rawPath ?? url.pathname, {
    dotfiles: context.dotfiles,
    hidden: context.hidden,
  });
  if (path.kind === "missing") return NOT_FOUND;
  if (path.kind === "bad") return { status: 400, message: path.message };
  const cache = context.store.cache;
  const checkedAt = cache?.now() ?? 0;
  try {
    const location = await locate(context.root, path, context.layout);
    if (location.kind === "missing") return NOT_FOUND;
    if (location.kind === "directory") return { status: 404, directory: location.found.path };
    if (location.kind === "redirect") {
      const headers = { location: location.location + url.search };
      return new Response(null, { status: 301, headers });
    }
    const type = mediaTypeOf(location.name);
    const opened = await openFile(
      context.store,
      location.found,
      location.name,
      type,
      context.policy,
    );
    if (opened === null) return NOT_FOUND;
    if (opened.cached !== undefined && info?.rawPath !== undefined) {
      cache?.route(info.rawPath, opened.cached, checkedAt);
    }
    return await sendOpened(context, request, opened);
  } catch (error) {
    return fileFailure(error, context.logger, url.pathname);
  }
}

/** The opened file in the coding the request gets. */
async function sendOpened(
  context: LookupContext,
  request: Request,
  opened: OpenedFile,
): Promise<Response> {
  const coding = requestedCoding(request, opened.facts.codings, context.policy);
  if (coding === "identity") return sendFile(request, opened.handle, opened.representation);
  const encoded = await context.encoder.encode(opened, coding);
  if (encoded.kind === "stream") {
    return sendStream(request, encoded.body, encoded.headers, encoded.validators);
  }
  return sendFile(request, encoded.handle, encoded.representation);
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
