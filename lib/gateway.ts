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
import type { Handler } from "./handler.ts";
import type { Shortcut } from "./http/connection.ts";
import { withLiveScript } from "./dev/page.ts";
import { type LiveOptions, liveReload } from "./dev/site.ts";
import { silentLogger } from "./log.ts";
import { preparedShortcut } from "./prepared.ts";
import { type StaticLookup, type StaticOptions, staticSite } from "./static/mod.ts";

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
): Site {
  const compressed = app === null ? null : compressing(app, content);
  if (root === null) {
    if (compressed === null) throw new TypeError("serve() needs a handler, a root, or both");
    return { handler: compressed, shortcut: null, close: NOTHING_TO_CLOSE };
  }
  if (dev !== null) return liveSite(app, root, options, content, dev);
  const files = staticSite(root, { ...contentOptions(content), ...options });
  const handler = compressed === null ? files.handler : gateway(files.lookup, compressed);
  const shortcut = files.cache === null ? null : preparedShortcut(files.cache, files.negotiate);
  return { handler, shortcut, close: NOTHING_TO_CLOSE };
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
): Site {
  const live = liveReload(root, options.logger ?? silentLogger);
  const files = staticSite(root, {
    ...contentOptions({ ...content, compress: [] }),
    ...options,
    cache: false,
  });
  const compression = compressionOf(content);
  const answer = async (request: Request, response: Response) =>
    compressAppResponse(request, await live.decorate(response), compression);
  const lookup: StaticLookup = async (request, info) => {
    const result = await files.lookup(live.fileRequest(request), info);
    return result instanceof Response ? await answer(request, result) : result;
  };
  const inner: Handler = app === null
    ? async (request, info) => answer(request, await files.handler(live.fileRequest(request), info))
    : gateway(lookup, compressing(dev.app ? livePages(app) : app, content));
  const handler: Handler = (request, info) => live.reserved(request) ?? inner(request, info);
  return { handler, shortcut: null, close: () => live.close() };
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
