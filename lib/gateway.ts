/**
 * Static files in front of an application: a GET or HEAD request for a file
 * that exists under the root is answered with the file; every other request
 * (another method, a missing file, a path no file can have) goes to the
 * application.
 *
 * @module
 */

import { type Content, DEFAULT_CONTENT } from "./config.ts";
import { compressAppResponse, type ResponseCompression } from "./encoding/response.ts";
import type { ErrorHandler, Handler } from "./handler.ts";
import { asBuiltInErrorPage, isBuiltInErrorPage } from "./http/error_page.ts";
import { rawPath } from "./http/request.ts";
import type { Shortcut } from "./http/connection.ts";
import { withLiveScript } from "./dev/page.ts";
import { type LiveOptions, liveReload } from "./dev/site.ts";
import { silentLogger } from "./log.ts";
import { preparedShortcut } from "./prepared.ts";
import type { CacheSample } from "./server_metrics.ts";
import { mutable, NO_FILES, ruledSite, type SiteFiles, type SiteParts } from "./site/site.ts";
import type { FileCache } from "./static/cache.ts";
import { NO_RULES, type SiteRules } from "./site/types.ts";
import { RULE_FILES } from "./static/options.ts";
import {
  type StaticLookup,
  type StaticOptions,
  type StaticSite,
  staticSite,
} from "./static/mod.ts";

/**
 * Combines a static lookup and an application into one handler.
 *
 * @param files The static layer's lookup.
 * @param app The application's Fetch handler.
 * @returns A handler that tries the files first.
 *
 * @example
 * ```ts
 * const handler = gateway(staticLookup("www"), () => Response.json({ ok: true }));
 * ```
 */
export function gateway(files: StaticLookup, app: Handler): Handler {
  return async (request, info) => {
    const result = await files(request, info);
    return result instanceof Response ? result : await app(request, info);
  };
}

/** The codings offered and the smallest body compressed, from the content options. */
function compressionOf(content: Readonly<Content>): ResponseCompression {
  return { codings: content.compress, minBytes: content.compressMinBytes };
}

/**
 * The static layer's compression and `Cache-Control` options from the
 * server's content options.
 *
 * @param content The content options.
 * @returns The static options they set.
 *
 * @example
 * ```ts
 * contentOptions(DEFAULT_CONTENT).cacheControl?.html; // "no-cache"
 * ```
 */
export function contentOptions(
  content: Readonly<Content>,
): Pick<StaticOptions, "compression" | "cacheControl"> {
  return {
    compression: compressionOf(content),
    cacheControl: {
      hashed: content.cacheControlHashed,
      html: content.cacheControlHtml,
      other: content.cacheControlOther,
    },
  };
}

/** What a server runs: the handler, and the fast path for cached files when there is one. */
export interface Site {
  /** Answers every request. */
  readonly handler: Handler;
  /** Answers cached files before a `Request` is built. */
  readonly shortcut: Shortcut | null;
  /** Ends what outlives requests (development mode's watcher and event streams). */
  readonly close: () => void;
  /** The file cache's counts, for metrics; absent or null without a cache. */
  readonly cacheSample?: () => CacheSample | null;
}

/** A site with nothing to close. */
const NOTHING_TO_CLOSE = () => {};

/**
 * The site for what a server is given: an application and a root (files
 * first, see {@linkcode gateway}), an application alone, or a root alone
 * (a static site with its not-found page); in development mode, the root's
 * files as `liveSite` serves them.
 *
 * @param app The application, or null.
 * @param root The document root, or null.
 * @param options How the static layer treats directories, dotfiles, misses and its cache.
 * @param content Compression and `Cache-Control`.
 * @param dev Development mode's options, or null when it is off.
 * @param ruled The site's rules (see `ruledSite`: routes, headers, CORS, listings, the
 * app shell, error pages) and the application's error hook; none by default.
 * @returns The handler, the shortcut and what to close on shutdown.
 * @throws {TypeError} When neither is given.
 *
 * @example
 * ```ts
 * const { handler } = site(null, "www", {});
 * ```
 */
export function site(
  app: Handler | null,
  root: string | null,
  options: StaticOptions,
  content: Readonly<Content> = DEFAULT_CONTENT,
  dev: LiveOptions | null = null,
  ruled: SiteRuling = { rules: NO_RULES },
): Site {
  const built = siteWithoutFields(app, root, options, content, dev, ruled);
  return withFields(built, ruled.fields ?? []);
}

/**
 * A site whose every response carries `fields`: set on what the handler
 * answers; the fast path's prepared responses were built with them.
 */
function withFields(built: Site, fields: readonly (readonly [string, string])[]): Site {
  if (fields.length === 0) return built;
  const handler: Handler = async (request, info) => {
    const response = mutable(await built.handler(request, info));
    for (const [name, value] of fields) response.headers.set(name, value);
    return response;
  };
  return { ...built, handler };
}

/** The parts of {@linkcode site} before the fields every response carries. */
function siteWithoutFields(
  app: Handler | null,
  root: string | null,
  options: StaticOptions,
  content: Readonly<Content>,
  dev: LiveOptions | null,
  ruled: SiteRuling,
): Site {
  const compressed = app === null ? null : compressing(app, content);
  if (root === null) {
    if (compressed === null) throw new TypeError("serve() needs a handler, a root, or both");
    if (!needsRules(ruled.rules)) {
      return { handler: compressed, shortcut: null, close: NOTHING_TO_CLOSE };
    }
    // Routes, headers and CORS still apply around an application served without files.
    const parts = { ...siteParts(NO_FILES, compressed, "", options, ruled), hidden: [] };
    return { handler: ruledSite(parts).handler, shortcut: null, close: NOTHING_TO_CLOSE };
  }
  const { rules } = ruled;
  if (dev !== null) {
    return liveSite(app, root, { ...layoutOptions(rules), ...options }, content, dev, ruled);
  }
  const staticOptions = { ...contentOptions(content), ...layoutOptions(rules), ...options };
  const files = staticSite(root, staticOptions);
  const shortcut = files.cache === null
    ? null
    : preparedShortcut(files.cache, files.negotiate, ruled.fields);
  const cacheSample = () => sampleOf(files.cache);
  if (!needsRules(rules)) {
    const handler = compressed === null ? files.handler : gateway(files.lookup, compressed);
    return { handler, shortcut, close: files.close, cacheSample };
  }
  const { handler, touches } = ruledSite(siteParts(files, compressed, root, staticOptions, ruled));
  return { handler, shortcut: declining(shortcut, touches), close: files.close, cacheSample };
}

/** What `ruledSite` is made of, from what `site()` was given. */
function siteParts(
  files: SiteFiles,
  app: Handler | null,
  root: string,
  options: StaticOptions,
  { rules, onError }: SiteRuling,
): SiteParts {
  return {
    files,
    app,
    rules,
    rootReal: rules.list && root !== "" ? realPathOr(root) : root,
    hidden: options.hidden ?? RULE_FILES,
    dotfiles: options.dotfiles ?? false,
    logger: options.logger ?? silentLogger,
    onError,
  };
}

/** A file cache's counts, or null without one. */
function sampleOf(cache: FileCache | null): CacheSample | null {
  if (cache === null) return null;
  return { hits: cache.hits, misses: cache.misses, bytes: cache.bytes, entries: cache.size };
}

/** A site's rules, and who answers for an application that throws. */
export interface SiteRuling {
  /** The rules (see `SiteRules`). */
  readonly rules: SiteRules;
  /** Answers for an application that throws (the server's `onError`). */
  readonly onError?: ErrorHandler;
  /** Fields every response carries (`Strict-Transport-Security` over HTTPS). */
  readonly fields?: readonly (readonly [string, string])[];
}

/** The static layer's options the rules set: clean URLs, slashes, listings, the not-found page. */
function layoutOptions(rules: SiteRules): StaticOptions {
  const notFound = rules.errorPages["404"];
  return {
    cleanUrls: rules.cleanUrls,
    trailingSlash: rules.trailingSlash,
    list: rules.list,
    ...(notFound === undefined ? {} : { notFoundPage: notFound }),
  };
}

/** Whether the rules need more than the static layer: routes, headers, CORS, fallbacks, pages. */
function needsRules(rules: SiteRules): boolean {
  return rules.headers.length > 0 || rules.routes.length > 0 || rules.cors.length > 0 ||
    rules.spa !== null || rules.list || Object.keys(rules.errorPages).length > 0;
}

/** The real path of the root, or the root itself when it cannot be resolved. */
function realPathOr(root: string): string {
  try {
    return Deno.realPathSync(root);
  } catch {
    return root;
  }
}

/** A fast path that leaves the paths the rules touch to the handler. */
function declining(shortcut: Shortcut | null, touches: (rawPath: string) => boolean) {
  if (shortcut === null) return null;
  return ((head, connection, server) =>
    touches(rawPath(head)) ? null : shortcut(head, connection, server)) satisfies Shortcut;
}

/**
 * A site that can be replaced while it serves: requests that started keep
 * the site they started with (a download in progress is not cut), new ones
 * get the new site, and the old one is closed.
 *
 * @param initial The first site.
 * @returns The site to serve through, and `swap` to replace what it serves.
 *
 * @example
 * ```ts
 * const switchable = switchableSite(site(null, "www", {}));
 * switchable.swap(site(null, "www", {}, DEFAULT_CONTENT, null, { rules: newRules }));
 * ```
 */
export function switchableSite(initial: Site): { site: Site; swap: (next: Site) => void } {
  let current = initial;
  // What replaced sites' caches counted, so the totals never go back.
  let counted = { hits: 0, misses: 0 };
  const handler: Handler = (request, info) => current.handler(request, info);
  const shortcut: Shortcut = (head, connection, server) =>
    current.shortcut === null ? null : current.shortcut(head, connection, server);
  const cacheSample = (): CacheSample | null => {
    const sample = current.cacheSample?.() ?? null;
    if (sample === null) return null;
    return { ...sample, hits: sample.hits + counted.hits, misses: sample.misses + counted.misses };
  };
  const swap = (next: Site) => {
    const old = current;
    const last = cacheSample();
    if (last !== null) counted = { hits: last.hits, misses: last.misses };
    current = next;
    old.close();
  };
  return { site: { handler, shortcut, close: () => current.close(), cacheSample }, swap };
}

/**
 * A root served in development mode (see `liveReload`), with the
 * application behind it: the reserved paths first, then files without the
 * cache and with the live-reload script, compressed as application
 * responses are (the script changes the bytes a stored variant was made
 * of), then the application, whose HTML pages get the script too when
 * `dev.app` asks for it.
 *
 * @param app The application, or null.
 * @param root The document root.
 * @param options The static options; the cache is turned off.
 * @param content Compression and `Cache-Control` (which files get `no-store` in place of).
 * @param dev Whether the application's pages get the script.
 * @returns The site; its `close()` stops watching.
 */
export function liveSite(
  app: Handler | null,
  root: string,
  options: StaticOptions,
  content: Readonly<Content>,
  dev: LiveOptions,
  ruled: SiteRuling = { rules: NO_RULES },
): Site {
  const live = liveReload(root, options.logger ?? silentLogger);
  const staticOptions = { ...contentOptions({ ...content, compress: [] }), ...options };
  const files = staticSite(root, { ...staticOptions, cache: false });
  const compression = compressionOf(content);
  const answer = async (request: Request, response: Response) =>
    compressAppResponse(request, await live.decorate(response), compression);
  const application = app === null ? null : compressing(dev.app ? livePages(app) : app, content);
  let inner: Handler;
  if (needsRules(ruled.rules)) {
    const liveFiles = liveStaticSite(files, live.fileRequest, answer);
    inner = ruledSite(siteParts(liveFiles, application, root, staticOptions, ruled)).handler;
  } else if (application === null) {
    inner = async (request, info) =>
      answer(request, await files.handler(live.fileRequest(request), info));
  } else {
    const lookup: StaticLookup = async (request, info) => {
      const result = await files.lookup(live.fileRequest(request), info);
      return result instanceof Response ? await answer(request, result) : result;
    };
    inner = gateway(lookup, application);
  }
  const handler: Handler = (request, info) => live.reserved(request) ?? inner(request, info);
  return {
    handler,
    shortcut: null,
    close: () => {
      live.close();
      files.close();
    },
  };
}

/**
 * A static site whose answers are made as development mode makes them:
 * looked up for the request as the file layer should see it, then given
 * the live-reload script and compressed.
 */
function liveStaticSite(
  files: StaticSite,
  fileRequest: (request: Request) => Request,
  answer: (request: Request, response: Response) => Promise<Response>,
): StaticSite {
  return {
    ...files,
    find: async (request, info) => {
      const result = await files.find(fileRequest(request), info);
      return result instanceof Response ? await answer(request, result) : result;
    },
    page: async (request, path, status) => {
      const page = await files.page(fileRequest(request), path, status);
      return page === null ? null : await answer(request, page);
    },
    missPage: async (request, miss) => {
      const page = await files.missPage(fileRequest(request), miss);
      const answered = await answer(request, page);
      // Still the built-in page, for the site's own page to replace.
      return isBuiltInErrorPage(page) ? asBuiltInErrorPage(answered) : answered;
    },
  };
}

/** An application whose full HTML documents get the live-reload script. */
function livePages(app: Handler): Handler {
  return async (request, info) => withLiveScript(await app(request, info));
}

/**
 * An application whose responses are compressed as the content options say
 * (see `compressAppResponse`); the application itself when compression is off.
 *
 * @param app The application.
 * @param content The codings offered and the smallest body compressed.
 * @returns The handler.
 *
 * @example
 * ```ts
 * const handler = compressing(() => Response.json({ ok: true }), DEFAULT_CONTENT);
 * ```
 */
export function compressing(app: Handler, content: Readonly<Content>): Handler {
  const options = compressionOf(content);
  if (options.codings.length === 0) return app;
  return async (request, info) => compressAppResponse(request, await app(request, info), options);
}
