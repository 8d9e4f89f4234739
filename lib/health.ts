/**
 * The health endpoint a load balancer polls: answered by the server itself,
 * before the site and before the cached-file fast path, with 200 while it
 * serves and 503 from the moment a graceful shutdown begins, so the
 * balancer stops sending new requests while the connections it has still
 * finish.
 *
 * @module
 */

import type { Handler } from "./handler.ts";
import type { Shortcut } from "./http/connection.ts";
import { rawPath } from "./http/request.ts";

/** What a handler and a fast path become with a health endpoint in front. */
export interface WithHealth {
  readonly handler: Handler;
  readonly shortcut: Shortcut | null;
}

/**
 * The health endpoint's answer: `ok` with 200 while serving, `draining` with
 * 503 once a shutdown has begun; never stored by a cache, and without a body
 * for HEAD.
 *
 * @param draining Whether a shutdown has begun.
 * @param method The request's method.
 * @returns The response.
 *
 * @example
 * ```ts
 * healthResponse(false, "GET").status; // 200
 * healthResponse(true, "GET").status; // 503
 * ```
 */
export function healthResponse(draining: boolean, method: string): Response {
  const body = draining ? "draining\n" : "ok\n";
  return new Response(method === "HEAD" ? null : body, {
    status: draining ? 503 : 200,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "content-length": String(body.length),
      "cache-control": "no-store",
    },
  });
}

/**
 * Puts the health endpoint in front of a handler and its fast path: a
 * request whose path (as sent, without the query) is `path` is answered by
 * {@linkcode healthResponse}, whatever the site holds there.
 *
 * @param path The endpoint (`/healthz`), or null for none.
 * @param handler The site's handler.
 * @param shortcut The site's fast path, or null.
 * @param draining Whether a shutdown has begun, asked on each request.
 * @returns The handler and fast path to serve with.
 *
 * @example
 * ```ts
 * const { handler } = withHealth("/healthz", site.handler, null, () => false);
 * ```
 */
export function withHealth(
  path: string | null,
  handler: Handler,
  shortcut: Shortcut | null,
  draining: () => boolean,
): WithHealth {
  if (path === null) return { handler, shortcut };
  return {
    handler: (request, info) =>
      info.rawPath === path ? healthResponse(draining(), request.method) : handler(request, info),
    shortcut: shortcut === null
      ? null
      : (head, connection, server) =>
        rawPath(head) === path ? null : shortcut(head, connection, server),
  };
}
