/**
 * Listening and accepting: one accept loop hands each connection to
 * {@linkcode serveConnection}, keeps track of it until it ends, holds the
 * number of connections under the cap, and shuts down gracefully.
 *
 * @module
 */

import {
  DEFAULT_LIMITS,
  DEFAULT_TUNING,
  type Limits,
  SERVER_NAME,
  type Tuning,
  VERSION,
} from "./config.ts";
import { isDisconnect } from "./errors.ts";
import type { ErrorHandler, Handler } from "./handler.ts";
import { BufferPool, HEAD_ROOM_BYTES } from "./http/buffer_pool.ts";
import { type ConnectionOptions, serveConnection, type Shortcut } from "./http/connection.ts";
import { type Logger, silentLogger } from "./log.ts";

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
  /** File buffers (the cache belongs to the static layer); unset fields keep their defaults. */
  tuning?: Partial<Tuning>;
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
  /**
   * Called once when a shutdown begins, after the listener is closed: ends
   * responses that would otherwise last until the shutdown deadline (event
   * streams).
   */
  onShutdown?: () => void;
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
    tcpBacklog: options.limits?.listenBacklog ?? DEFAULT_LIMITS.listenBacklog,
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  return new TcpServer(listener, options);
}

/** One listener, its accept loop and the connections it serves. */
class TcpServer implements Server {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  readonly #listener: Deno.Listener;
  readonly #handler: Handler;
  readonly #limits: Limits;
  readonly #logger: Logger;
  readonly #closing = new AbortController();
  readonly #connectionOptions: ConnectionOptions;
  readonly #open = new Set<Deno.Conn>();
  readonly #serving = new Set<Promise<void>>();
  readonly #failures: AcceptFailures;
  readonly #onShutdown: () => void;
  /** Resolved when a connection ends (a slot frees up) or the server stops. */
  #slotFreed: PromiseWithResolvers<void> | null = null;
  /** Resolved when the shutdown deadline has passed and every connection was closed. */
  readonly #forced = Promise.withResolvers<void>();
  #stopping: Promise<void> | null = null;

  constructor(listener: Deno.Listener, options: ListenOptions) {
    this.addr = listener.addr as Deno.NetAddr;
    this.#listener = listener;
    this.#handler = options.handler;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#logger = options.logger ?? silentLogger;
    this.#failures = new AcceptFailures(this.#logger);
    this.#onShutdown = options.onShutdown ?? (() => {});
    const tuning: Tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.#connectionOptions = {
      limits: this.#limits,
      logger: this.#logger,
      server: `${SERVER_NAME}/${VERSION}`,
      onError: options.onError,
      closing: this.#closing.signal,
      shortcut: options.shortcut ?? undefined,
      buffers: new BufferPool(tuning.fileBufferBytes + HEAD_ROOM_BYTES, tuning.fileBuffers),
    };
    this.finished = this.#run();
  }

  get connections(): number {
    return this.#open.size;
  }

  shutdown(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** Accepts until shutdown, then waits for the connections to end. */
  async #run(): Promise<void> {
    while (!this.#closing.signal.aborted) {
      if (this.#open.size >= this.#limits.maxConnections) {
        // At the cap, new clients wait in the listen backlog rather than be refused.
        this.#slotFreed ??= Promise.withResolvers<void>();
        await this.#slotFreed.promise;
        continue;
      }
      const conn = await this.#accept();
      if (conn === "stop") break;
      if (conn !== null) this.#serve(conn);
    }
    // Connections end by themselves (idle ones at once, busy ones after their
    // response) unless the deadline closes them first; a handler still
    // running after that cannot hold the server up.
    const allEnded = (async () => {
      while (this.#serving.size > 0) await Promise.allSettled([...this.#serving]);
    })();
    await Promise.race([allEnded, this.#forced.promise]);
  }

  /**
   * The next connection; null after a failure that passes (out of
   * descriptors, a client gone before it was accepted), "stop" once the
   * listener is closed.
   */
  async #accept(): Promise<Deno.Conn | null | "stop"> {
    try {
      const conn = await this.#listener.accept();
      this.#failures.succeeded();
      return conn;
    } catch (error) {
      if (this.#closing.signal.aborted || error instanceof Deno.errors.BadResource) return "stop";
      if (!isDisconnect(error)) await this.#failures.failed(error);
      return null;
    }
  }

  #serve(conn: Deno.Conn): void {
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch {
      // The client may already be gone.
    }
    this.#open.add(conn);
    const task = serveConnection(conn, this.#handler, this.#connectionOptions).finally(() => {
      this.#open.delete(conn);
      this.#serving.delete(task);
      this.#slotFreed?.resolve();
      this.#slotFreed = null;
    });
    this.#serving.add(task);
  }

  async #stop(): Promise<void> {
    this.#closing.abort();
    this.#slotFreed?.resolve();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    try {
      this.#onShutdown();
    } catch (error) {
      this.#logger.error("onShutdown failed", error);
    }
    const deadline = setTimeout(() => {
      for (const conn of this.#open) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      this.#forced.resolve();
    }, this.#limits.shutdownTimeoutMs);
    try {
      await this.finished;
    } finally {
      clearTimeout(deadline);
    }
  }
}

/**
 * Accept failures (such as too many open files): the loop pauses from
 * {@linkcode ACCEPT_BACKOFF_MIN_MS}, doubling up to
 * {@linkcode ACCEPT_BACKOFF_MAX_MS}, so it neither spins nor exits, and the
 * failure is logged at most once a minute however often it recurs.
 */
class AcceptFailures {
  readonly #logger: Logger;
  #backoff = 0;
  #lastReport = -Infinity;
  #unreported = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  succeeded(): void {
    this.#backoff = 0;
  }

  async failed(error: unknown): Promise<void> {
    this.#unreported++;
    if (performance.now() - this.#lastReport >= ACCEPT_REPORT_INTERVAL_MS) {
      const n = this.#unreported;
      const times = n === 1 ? "" : ` (${n} times since the last report)`;
      this.#logger.error(
        `accepting connections failed${times}; retrying every ${ACCEPT_BACKOFF_MIN_MS}` +
          `-${ACCEPT_BACKOFF_MAX_MS} ms until it succeeds`,
        error,
      );
      this.#lastReport = performance.now();
      this.#unreported = 0;
    }
    this.#backoff = Math.min(
      Math.max(this.#backoff * 2, ACCEPT_BACKOFF_MIN_MS),
      ACCEPT_BACKOFF_MAX_MS,
    );
    await new Promise((resolve) => setTimeout(resolve, this.#backoff));
  }
}
