/**
 * Listening and accepting: one accept loop hands each connection to
 * {@linkcode serveConnection} and keeps track of it until it ends.
 *
 * @module
 */

import { DEFAULT_LIMITS, type RequestLimits, SERVER_NAME } from "./config.ts";
import { type ErrorHandler, type Handler, isDisconnect, serveConnection } from "./connection.ts";
import { type Logger, silentLogger } from "./log.ts";
import denoJson from "../deno.json" with { type: "json" };

/** The product's version, from `deno.json`. */
export const VERSION: string = denoJson.version;

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  /** The address to listen on; `0.0.0.0` or `::` for every interface. */
  hostname: string;
  /** The port; 0 lets the system pick a free one. */
  port: number;
  /** Answers every request. */
  handler: Handler;
  /** Request limits; unset fields keep their defaults. */
  limits?: Partial<RequestLimits>;
  /** Where access lines and faults go; silent by default. */
  logger?: Logger;
  /** Answers for a handler that throws; by default a logged 500. */
  onError?: ErrorHandler;
}

/** A running server. */
export interface Server {
  /** The address actually bound (with the port the system picked for port 0). */
  readonly addr: Deno.NetAddr;
  /** Resolves when the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** Stops accepting, closes every connection and resolves when all are done. */
  shutdown(): Promise<void>;
  /** The same as `shutdown()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Accept errors (such as too many open files) pause the loop from this long ... */
const ACCEPT_BACKOFF_MIN_MS = 5;
/** ... doubling up to this long, so the loop neither spins nor exits. */
const ACCEPT_BACKOFF_MAX_MS = 1000;

/**
 * Starts listening and serving. Throws synchronously when the address cannot
 * be bound (`Deno.errors.AddrInUse`, `PermissionDenied`, ...).
 *
 * @param options Address, handler, limits and logger.
 * @returns The running server.
 *
 * @example
 * ```ts
 * const server = listen({ hostname: "127.0.0.1", port: 0, handler: () => new Response("hi") });
 * console.log(server.addr.port);
 * await server.shutdown();
 * ```
 */
export function listen(options: ListenOptions): Server {
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const logger = options.logger ?? silentLogger;
  const connectionOptions = {
    limits,
    logger,
    server: `${SERVER_NAME}/${VERSION}`,
    onError: options.onError,
  };
  const open = new Set<Deno.Conn>();
  const serving = new Set<Promise<void>>();
  let stopping = false;

  const acceptLoop = async (): Promise<void> => {
    let backoff = 0;
    while (!stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoff = 0;
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) break;
        if (isDisconnect(error)) continue;
        backoff = Math.min(Math.max(backoff * 2, ACCEPT_BACKOFF_MIN_MS), ACCEPT_BACKOFF_MAX_MS);
        logger.error(`accept failed, pausing ${backoff} ms`, error);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        continue;
      }
      try {
        (conn as Deno.TcpConn).setNoDelay?.(true);
      } catch {
        // The client may already be gone.
      }
      open.add(conn);
      const task = serveConnection(conn, options.handler, connectionOptions).finally(() => {
        open.delete(conn);
        serving.delete(task);
      });
      serving.add(task);
    }
    while (serving.size > 0) await Promise.allSettled([...serving]);
  };

  const finished = acceptLoop();
  const shutdown = async (): Promise<void> => {
    if (!stopping) {
      stopping = true;
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
    }
    await finished;
  };
  return {
    addr: listener.addr as Deno.NetAddr,
    finished,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
