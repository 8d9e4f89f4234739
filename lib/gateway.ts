/**
 * Static files in front of an application: a GET or HEAD request for a file
 * that exists under the root is answered with the file; every other request
 * (another method, a missing file, a path no file can have) goes to the
 * application.
 *
 * @module
 */

import { type Content, DEFAULT_CONTENT } from "./config.ts";
import { compressAppResponse } from "./encoding/response.ts";
import type { Handler } from "./handler.ts";
import type { Shortcut } from "./http/connection.ts";
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
    compression: { codings: content.compress, minBytes: content.compressMinBytes },
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
}

/**
 * The site for what a server is given: an application and a root (files
 * first, see {@linkcode gateway}), an application alone, or a root alone
 * (a static site with its not-found page).
 *
 * @param app The application, or null.
 * @param root The document root, or null.
 * @param options How the static layer treats directories, dotfiles, misses and its cache.
 * @returns The handler and the shortcut.
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
): Site {
  const compressed = app === null ? null : compressing(app, content);
  if (root === null) {
    if (compressed === null) throw new TypeError("serve() needs a handler, a root, or both");
    return { handler: compressed, shortcut: null };
  }
  const files = staticSite(root, { ...contentOptions(content), ...options });
  const handler = compressed === null ? files.handler : gateway(files.lookup, compressed);
  const shortcut = files.cache === null ? null : preparedShortcut(files.cache, files.negotiate);
  return { handler, shortcut };
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
  const options = { codings: content.compress, minBytes: content.compressMinBytes };
  if (options.codings.length === 0) return app;
  return async (request, info) => compressAppResponse(request, await app(request, info), options);
}
