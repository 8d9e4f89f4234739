/**
 * Development mode around a static site: the root is watched, open pages
 * hear of every change through a server-sent-events stream, every full HTML
 * document gets the script that listens to it, and nothing is cached.
 *
 * What changes in a file's response: the body (the script before
 * `</body>`), `Content-Length`, `ETag` (see `liveTag`) and
 * `Cache-Control: no-store`. Requests reach the static layer as GET without
 * `If-None-Match` and `If-Modified-Since`, so the response carries the body
 * the modified bytes are made from (the server drops it again for HEAD) and
 * a validator of the file's bytes never yields a 304 for the page's.
 * Ranges of HTML are of the file as it is on disk.
 *
 * @module
 */

import { errorResponse } from "../http/error_page.ts";
import type { Logger } from "../log.ts";
import { LIVE_SCRIPT } from "./client.ts";
import { LiveEvents } from "./events.ts";
import { withLiveScript } from "./page.ts";
import { LIVE_EVENTS_PATH, LIVE_SCRIPT_PATH } from "./paths.ts";
import { watchRoot } from "./watch.ts";

/** The `Cache-Control` of every response in development mode. */
export const DEV_CACHE_CONTROL = "no-store";

/** The request fields that would let the static layer answer 304 for the file's bytes. */
const CONDITIONAL_FIELDS = ["if-none-match", "if-modified-since"] as const;

/** How development mode treats what is not a file. */
export interface LiveOptions {
  /** Whether the application's full HTML documents get the live-reload script too. */
  readonly app: boolean;
}

/** What development mode adds to a site. */
export interface LiveReload {
  /** The answer for a reserved path (the script, the event stream), or null for any other. */
  reserved(request: Request): Response | null;
  /** The request to give the static layer in place of `request`. */
  fileRequest(request: Request): Request;
  /** A static response as development mode sends it: uncached, the script in full documents. */
  decorate(response: Response): Promise<Response>;
  /** Stops watching and ends every event stream, so a shutdown need not wait for them. */
  close(): void;
}

/** The script, encoded once. */
const SCRIPT_BYTES = new TextEncoder().encode(LIVE_SCRIPT);

/** The live-reload script's response. */
function scriptResponse(): Response {
  return new Response(SCRIPT_BYTES, {
    headers: {
      "content-type": "text/javascript; charset=utf-8",
      "content-length": String(SCRIPT_BYTES.length),
      "cache-control": DEV_CACHE_CONTROL,
      "x-content-type-options": "nosniff",
    },
  });
}

/** Methods the reserved paths answer. */
const RESERVED_ALLOW = "GET, HEAD";

/**
 * Starts development mode for a root: watches it and keeps the event stream
 * for the pages it serves.
 *
 * @param root The document root.
 * @param logger Where a watcher that fails is reported.
 * @returns The reserved paths, the request and response changes, and `close()`.
 *
 * @example
 * ```ts
 * const live = liveReload("www", silentLogger);
 * live.reserved(new Request("http://localhost/.portico/live.js"))?.status; // 200
 * live.close();
 * ```
 */
export function liveReload(root: string, logger: Logger): LiveReload {
  const events = new LiveEvents();
  const watcher = watchRoot(root, (change) => events.broadcast(change), {
    onError: (error) => logger.error("development mode stopped watching the root", error),
  });
  return {
    reserved(request) {
      const path = new URL(request.url).pathname;
      if (path !== LIVE_SCRIPT_PATH && path !== LIVE_EVENTS_PATH) return null;
      if (request.method !== "GET" && request.method !== "HEAD") {
        return errorResponse(405, undefined, { allow: RESERVED_ALLOW });
      }
      return path === LIVE_SCRIPT_PATH ? scriptResponse() : events.response();
    },
    fileRequest(request) {
      const conditional = CONDITIONAL_FIELDS.some((name) => request.headers.has(name));
      if (request.method !== "HEAD" && !conditional) return request;
      const headers = new Headers(request.headers);
      for (const name of CONDITIONAL_FIELDS) headers.delete(name);
      const method = request.method === "HEAD" ? "GET" : request.method;
      return new Request(request.url, { method, headers, signal: request.signal });
    },
    async decorate(response) {
      const page = await withLiveScript(response);
      page.headers.set("cache-control", DEV_CACHE_CONTROL);
      return page;
    },
    close() {
      watcher.close();
      events.close();
    },
  };
}
