/**
 * The admin listener (`--admin ADDR`): Prometheus metrics at `/metrics`
 * (every worker's merged) and the health endpoint, on an address of its
 * own that is loopback unless the user binds it elsewhere. It runs in the
 * main thread, apart from the site, so it answers however busy the site is.
 *
 * @module
 */

import { UserError } from "./errors.ts";
import { healthResponse } from "./health.ts";
import { errorResponse } from "./http/error_page.ts";
import type { Logger } from "./log.ts";
import { listen, type Server } from "./server.ts";

/** The address `--admin` names. */
export interface AdminAddress {
  readonly hostname: string;
  readonly port: number;
}

/** What the admin listener answers with. */
export interface AdminSources {
  /** The metrics in the Prometheus text format. */
  readonly metrics: () => Promise<string>;
  /** Whether a shutdown has begun. */
  readonly draining: () => boolean;
  /** The health endpoint's path, or null to answer only `/metrics`. */
  readonly health: string | null;
}

/** The media type of the Prometheus text format. */
export const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Reads `--admin`: a port (on 127.0.0.1), or `HOST:PORT` (`[::1]:9100`).
 *
 * @param text The value.
 * @param source The flag or key, for the message.
 * @returns The address.
 * @throws {UserError} For anything else.
 *
 * @example
 * ```ts
 * parseAdminAddress("9100", "--admin"); // { hostname: "127.0.0.1", port: 9100 }
 * parseAdminAddress("[::]:9100", "--admin"); // { hostname: "::", port: 9100 }
 * ```
 */
export function parseAdminAddress(text: string, source: string): AdminAddress {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):)?([0-9]{1,5})$/.exec(text.trim());
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port > 65535) {
    throw new UserError(
      `${source} must be a port or HOST:PORT such as 9100 or 127.0.0.1:9100, not "${text}"`,
    );
  }
  const host = match[1] ?? "127.0.0.1";
  return { hostname: host.startsWith("[") ? host.slice(1, -1) : host, port };
}

/**
 * The admin listener's handler: the metrics, the health endpoint, 404 for
 * every other path and 405 for other methods.
 *
 * @param sources What it answers with.
 * @returns The handler.
 */
export function adminHandler(sources: AdminSources): (request: Request) => Promise<Response> {
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname !== "/metrics" && pathname !== sources.health) return errorResponse(404);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return errorResponse(405, undefined, { allow: "GET, HEAD" });
    }
    if (pathname === sources.health) return healthResponse(sources.draining(), request.method);
    const text = await sources.metrics();
    return new Response(request.method === "HEAD" ? null : text, {
      headers: { "content-type": PROMETHEUS_TYPE, "cache-control": "no-store" },
    });
  };
}

/**
 * Starts the admin listener.
 *
 * @param address Where to listen.
 * @param sources What it answers with.
 * @param logger Where its faults go.
 * @returns The running listener.
 */
export function startAdmin(address: AdminAddress, sources: AdminSources, logger: Logger): Server {
  return listen({ ...address, handler: adminHandler(sources), logger: quietAccess(logger) });
}

/** The logger without access lines: scrapes every few seconds would drown the log. */
function quietAccess(logger: Logger): Logger {
  return { access: () => {}, error: (message, error) => logger.error(message, error) };
}
