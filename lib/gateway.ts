/**
 * Static files in front of an application: a GET or HEAD request for a file
 * that exists under the root is answered with the file; every other request
 * (another method, a missing file, a path no file can have) goes to the
 * application.
 *
 * @module
 */

import type { Handler } from "./connection.ts";
import {
  serveStatic,
  type StaticLookup,
  staticLookup,
  type StaticOptions,
} from "./static/handler.ts";

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
 * The handler for what a server is given: an application and a root (files
 * first, see {@linkcode gateway}), an application alone, or a root alone
 * (a static site with its not-found page).
 *
 * @param app The application, or null.
 * @param root The document root, or null.
 * @param options How the static layer treats directories, dotfiles and misses.
 * @returns The handler.
 * @throws {TypeError} When neither is given.
 *
 * @example
 * ```ts
 * const handler = siteHandler(null, "www", {});
 * ```
 */
export function siteHandler(
  app: Handler | null,
  root: string | null,
  options: StaticOptions,
): Handler {
  if (app !== null && root !== null) return gateway(staticLookup(root, options), app);
  if (app !== null) return app;
  if (root !== null) return serveStatic(root, options);
  throw new TypeError("serve() needs a handler, a root, or both");
}
