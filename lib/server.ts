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
import {
  closeQuietly,
  type Connection,
  type ConnectionOptions,
  serveConnection,
  type Shortcut,
} from "./http/connection.ts";
import { proxiedConnection } from "./http/proxied.ts";
import { ProxyHeaderError } from "./http/proxy_protocol.ts";
import type { CidrList } from "./net/cidr.ts";
import { FailureReport } from "./failure_report.ts";
import { withHealth } from "./health.ts";
import {
  canSharePorts,
  completeHandshake,
  type ListenerOptions,
  openListener,
  type TlsCertificate,
} from "./tls.ts";
import { type Logger, silentLogger } from "./log.ts";
import { type Clock, realClock } from "./watchdog.ts";

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
  /**
   * The health endpoint's path (`/healthz`), answered before the handler:
   * 200 while serving, 503 once a shutdown has begun. Null or absent: none.
   */
  health?: string | null;
  /** The clock the drain delay is timed by (tests pass one they advance). */
  clock?: Clock;
  /** Told when a connection is closed because it stayed idle or a body stalled. */
  onTimeout?: (kind: "idle" | "body") => void;
  /** Serve HTTPS with this certificate; null or absent: plain HTTP. */
  tls?: TlsCertificate | null;
  /**
   * The proxies whose connections start with a PROXY protocol header (v1 or
   * v2), which names the client; null or absent: none.
   */
  proxyProtocol?: CidrList | null;
  /**
   * The proxies whose `Forwarded` and `X-Forwarded-*` fields name the
   * client (`info.remoteAddr`, the access log); null or absent: none.
   */
  trustProxy?: CidrList | null;
}

/** A running server. */
export interface Server {
  /** The address actually bound (with the port the system picked for port 0). */
  readonly addr: Deno.NetAddr;
  /** Resolves when the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** How many connections are open now. */
  readonly connections: number;
  /** Whether a shutdown has begun (the health endpoint answers 503). */
  readonly draining: boolean;
  /** Connections accepted since the start. */
  readonly accepted: number;
  /** Pooled file buffers lent out now. */
  readonly buffersInUse: number;
  /** TLS handshakes completed and failed since the start. */
  readonly handshakes: { readonly ok: number; readonly failed: number };
  /**
   * Serves new connections with another certificate: a new listener on the
   * same address takes over, and connections in progress go on. Only for a
   * TLS server whose listener shares its port. Resolves once the old
   * listener is closed, so every connection made after that gets the new
   * certificate; a client that connects in the same instant may find its
   * connection reset, as the system drops what was still queued on the old
   * listener.
   *
   * @throws When the pair cannot be used (the old certificate stays), or
   * the server is plain or cannot share its port.
   */
  setCertificate(tls: TlsCertificate): Promise<void>;
  /**
   * Stops gracefully: the health endpoint answers 503 at once and
   * connections are still accepted for the `drainDelayMs` limit (so a load
   * balancer sees the change before anything is refused); then it stops
   * accepting, closes idle connections, lets requests in progress finish
   * (with `Connection: close`) for up to the `shutdownTimeoutMs` limit, and
   * closes what is left. Resolves when every connection is closed; calling
   * it again returns the same promise.
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
  const tls = options.tls ?? null;
  if (tls !== null && (options.proxyProtocol ?? null) !== null) {
    throw new TypeError(
      "proxyProtocol cannot go with tls: Deno cannot read the header before its TLS handshake",
    );
  }
  // A TLS listener shares its port when it can, so that a new certificate
  // can be put in place by a second listener before the first is closed.
  const listening: ListenerOptions = {
    hostname: options.hostname,
    port: options.port,
    backlog: options.limits?.listenBacklog ?? DEFAULT_LIMITS.listenBacklog,
    reusePort: options.reusePort === true || (tls !== null && canSharePorts()),
    tls,
  };
  return new TcpServer(openListener(listening), listening, options);
}

/** One listener, its accept loop and the connections it serves. */
class TcpServer implements Server {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  #listener: Deno.Listener;
  readonly #listening: ListenerOptions;
  readonly #handshakeFailures: FailureReport;
  #handshakesOk = 0;
  /** The listener an accept waits on now, and when that accept ends. */
  #accepting: Deno.Listener | null = null;
  #acceptEnded: PromiseWithResolvers<void> | null = null;
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
  #draining = false;
  #accepted = 0;
  readonly #clock: Clock;
  readonly #proxies: CidrList | null;
  readonly #proxyFailures: FailureReport;

  constructor(listener: Deno.Listener, listening: ListenerOptions, options: ListenOptions) {
    this.addr = listener.addr as Deno.NetAddr;
    this.#listener = listener;
    this.#listening = { ...listening, port: this.addr.port };
    this.#clock = options.clock ?? realClock;
    this.#proxies = options.proxyProtocol ?? null;
    const front = withHealth(
      options.health ?? null,
      options.handler,
      options.shortcut ?? null,
      () => this.#draining,
    );
    this.#handler = front.handler;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#logger = options.logger ?? silentLogger;
    this.#failures = new AcceptFailures(this.#logger);
    this.#proxyFailures = new FailureReport(
      this.#logger,
      this.#clock,
      (n) => `closed ${n} connection${plural(n)} from trusted proxies without a valid PROXY header`,
    );
    this.#handshakeFailures = new FailureReport(
      this.#logger,
      this.#clock,
      (n) => `${n} TLS handshake${plural(n)} failed`,
    );
    this.#onShutdown = options.onShutdown ?? (() => {});
    const tuning: Tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.#connectionOptions = {
      limits: this.#limits,
      logger: this.#logger,
      server: `${SERVER_NAME}/${VERSION}`,
      onError: options.onError,
      closing: this.#closing.signal,
      // Prepared responses are bytes made beforehand: they cannot carry a request's id.
      shortcut: this.#logger.requestIdHeader ? undefined : front.shortcut ?? undefined,
      buffers: new BufferPool(tuning.fileBufferBytes + HEAD_ROOM_BYTES, tuning.fileBuffers),
      onTimeout: options.onTimeout,
      scheme: listening.tls === null ? "http" : "https",
      trustProxy: options.trustProxy ?? null,
    };
    this.finished = this.#run();
  }

  get connections(): number {
    return this.#open.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get accepted(): number {
    return this.#accepted;
  }

  get handshakes(): { readonly ok: number; readonly failed: number } {
    return { ok: this.#handshakesOk, failed: this.#handshakeFailures.total };
  }

  async setCertificate(tls: TlsCertificate): Promise<void> {
    if (this.#listening.tls === null || !this.#listening.reusePort) {
      throw new TypeError("only a TLS server that shares its port can change its certificate");
    }
    if (this.#closing.signal.aborted) return;
    const next = openListener({ ...this.#listening, tls });
    const old = this.#listener;
    this.#listener = next;
    // The accept waiting on the old listener ends with it; the loop then takes the new one.
    const retired = this.#accepting === old ? this.#acceptEnded?.promise : undefined;
    old.close();
    await retired;
  }

  get buffersInUse(): number {
    const buffers = this.#connectionOptions.buffers;
    return buffers === undefined ? 0 : buffers.created - buffers.free;
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
    const listener = this.#listener;
    this.#accepting = listener;
    this.#acceptEnded = Promise.withResolvers<void>();
    const ended = this.#acceptEnded;
    try {
      const conn = await listener.accept();
      this.#failures.succeeded();
      return conn;
    } catch (error) {
      if (this.#closing.signal.aborted) return "stop";
      // A listener replaced by a new certificate's: go on with the new one.
      if (listener !== this.#listener) return null;
      if (error instanceof Deno.errors.BadResource) return "stop";
      if (!isDisconnect(error)) await this.#failures.failed(error);
      return null;
    } finally {
      this.#accepting = null;
      ended.resolve();
    }
  }

  #serve(conn: Deno.Conn): void {
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch {
      // The client may already be gone.
    }
    this.#open.add(conn);
    this.#accepted++;
    const served = this.#listening.tls !== null
      ? this.#serveTls(conn)
      : this.#proxies === null
      ? serveConnection(conn, this.#handler, this.#connectionOptions)
      : this.#serveProxied(conn, this.#proxies);
    const task = served.finally(() => {
      this.#open.delete(conn);
      this.#serving.delete(task);
      this.#slotFreed?.resolve();
      this.#slotFreed = null;
    });
    this.#serving.add(task);
  }

  /** Completes the TLS handshake within its deadline, then serves; a failed one is counted. */
  async #serveTls(conn: Deno.Conn): Promise<void> {
    const failed = await completeHandshake(conn, this.#limits.handshakeTimeoutMs, this.#clock);
    if (failed !== null) {
      this.#handshakeFailures.failed(failed);
      return;
    }
    this.#handshakesOk++;
    await serveConnection(conn, this.#handler, this.#connectionOptions);
  }

  /** Reads a trusted proxy's header first; a connection without a valid one is closed. */
  async #serveProxied(conn: Deno.Conn, proxies: CidrList): Promise<void> {
    const deadline = new AbortController();
    const stop = () => deadline.abort();
    const timer = setTimeout(stop, this.#limits.headerTimeoutMs);
    this.#closing.signal.addEventListener("abort", stop, { once: true });
    let served: Connection;
    try {
      served = await proxiedConnection(conn, proxies, deadline.signal);
    } catch (error) {
      closeQuietly(conn);
      if (!(error instanceof ProxyHeaderError) && !isDisconnect(error)) throw error;
      this.#proxyFailures.failed(error instanceof ProxyHeaderError ? error.reason : "gone");
      return;
    } finally {
      clearTimeout(timer);
      this.#closing.signal.removeEventListener("abort", stop);
    }
    await serveConnection(served, this.#handler, this.#connectionOptions);
  }

  async #stop(): Promise<void> {
    this.#draining = true;
    const drainMs = this.#limits.drainDelayMs;
    if (drainMs > 0) await new Promise<void>((resolve) => this.#clock.setTimer(resolve, drainMs));
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
    // The last access lines are out before the server counts as stopped.
    await this.#logger.flush?.();
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

/** The plural ending for a count. */
function plural(n: number): string {
  return n === 1 ? "" : "s";
}
