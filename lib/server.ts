/**
 * Listening and accepting: one accept loop hands each connection to
 * {@linkcode serveConnection}, keeps track of it until it ends, holds the
 * number of connections under the cap, and shuts down gracefully.
 *
 * @module
 */

import { DEFAULT_LIMITS, type Limits, SERVER_NAME } from "./config.ts";
import {
  type ErrorHandler,
  type Handler,
  isDisconnect,
  serveConnection,
  type Shortcut,
} from "./connection.ts";
import { BufferPool } from "./http/buffer_pool.ts";
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
  /** Limits and timeouts; unset fields keep their defaults. */
  limits?: Partial<Limits>;
  /** Where access lines and faults go; silent by default. */
  logger?: Logger;
  /** Answers for a handler that throws; by default a logged 500. */
  onError?: ErrorHandler;
  /**
   * Lets several listeners (in several workers) share the address, with the
   * system spreading connections among them. Needs `--unstable-net`.
   */
  reusePort?: boolean;
  /** Answers some requests before the handler: the static layer's cached files. */
  shortcut?: Shortcut | null;
}

/** A running server. */
export interface Server {
  /** The address actually bound (with the port the system picked for port 0). */
  readonly addr: Deno.NetAddr;
  /** Resolves when the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** How many connections are open now. */
  readonly connections: number;
  /**
   * Stops gracefully: stops accepting, closes idle connections, lets
   * requests in progress finish (with `Connection: close`) for up to the
   * `shutdownTimeoutMs` limit, then closes what is left. Resolves when every
   * connection is closed; calling it again returns the same promise.
   */
  shutdown(): Promise<void>;
  /** The same as `shutdown()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Accept errors (such as too many open files) pause the loop from this long ... */
const ACCEPT_BACKOFF_MIN_MS = 5;
/** ... doubling up to this long, so the loop neither spins nor exits. */
const ACCEPT_BACKOFF_MAX_MS = 1000;
/** Accept failures are logged at most this often. */
const ACCEPT_REPORT_INTERVAL_MS = 60_000;

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
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const logger = options.logger ?? silentLogger;
  const closing = new AbortController();
  const connectionOptions = {
    limits,
    logger,
    server: `${SERVER_NAME}/${VERSION}`,
    onError: options.onError,
    closing: closing.signal,
    shortcut: options.shortcut ?? undefined,
    buffers: new BufferPool(limits.fileBufferBytes, limits.fileBuffers),
  };
  const open = new Set<Deno.Conn>();
  const serving = new Set<Promise<void>>();
  /** Resolved when a connection ends (a slot frees up) or the server stops. */
  let slotFreed: PromiseWithResolvers<void> | null = null;
  /** Resolved when the shutdown deadline has passed and every connection was closed. */
  const forced = Promise.withResolvers<void>();

  const acceptLoop = async (): Promise<void> => {
    let backoff = 0;
    let lastReport = -Infinity;
    let unreported = 0;
    while (!closing.signal.aborted) {
      if (open.size >= limits.maxConnections) {
        // At the cap, new clients wait in the listen backlog rather than be refused.
        slotFreed ??= Promise.withResolvers<void>();
        await slotFreed.promise;
        continue;
      }
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoff = 0;
      } catch (error) {
        if (closing.signal.aborted || error instanceof Deno.errors.BadResource) break;
        if (isDisconnect(error)) continue;
        // Out of descriptors (EMFILE) and the like: pause and try again, and
        // say so at most once a minute however often it fails.
        unreported++;
        if (performance.now() - lastReport >= ACCEPT_REPORT_INTERVAL_MS) {
          const times = unreported === 1 ? "" : ` (${unreported} times since the last report)`;
          logger.error(
            `accepting connections failed${times}; retrying every ${ACCEPT_BACKOFF_MIN_MS}` +
              `-${ACCEPT_BACKOFF_MAX_MS} ms until it succeeds`,
            error,
          );
          lastReport = performance.now();
          unreported = 0;
        }
        backoff = Math.min(Math.max(backoff * 2, ACCEPT_BACKOFF_MIN_MS), ACCEPT_BACKOFF_MAX_MS);
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
        slotFreed?.resolve();
        slotFreed = null;
      });
      serving.add(task);
    }
    // Connections end by themselves (idle ones at once, busy ones after their
    // response) unless the deadline closes them first; a handler still
    // running after that cannot hold the server up.
    const allEnded = (async () => {
      while (serving.size > 0) await Promise.allSettled([...serving]);
    })();
    await Promise.race([allEnded, forced.promise]);
  };

  const finished = acceptLoop();
  let stopping: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      closing.abort();
      slotFreed?.resolve();
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      const deadline = setTimeout(() => {
        for (const conn of open) {
          try {
            conn.close();
          } catch {
            // Already closed.
          }
        }
        forced.resolve();
      }, limits.shutdownTimeoutMs);
      try {
        await finished;
      } finally {
        clearTimeout(deadline);
      }
    })();
    return stopping;
  };
  return {
    addr: listener.addr as Deno.NetAddr,
    finished,
    get connections() {
      return open.size;
    },
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
