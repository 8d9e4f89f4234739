/**
 * Static files in front of an application: a GET or HEAD request for a file
 * that exists under the root is answered with the file; every other request
 * (another method, a missing file, a path no file can have) goes to the
 * application.
 *
 * @module
 */

import type { Handler } from "./connection.ts";
import type { StaticLookup } from "./static/handler.ts";

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
