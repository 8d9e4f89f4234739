/**
 * The HTTP/1.1 connection loop: read a request head (within its deadline),
 * run the exchange, write the response, finish the request body, decide
 * whether the connection may carry another request, and wait for it.
 * Requests on one connection are answered strictly in order, so pipelined
 * requests need nothing special: their bytes wait in the reader's buffer.
 * What a request means apart from its bytes (the `Request`, the handler, its
 * errors, `completed`, the access log) is the {@linkcode Exchange}'s.
 *
 * @module
 */

import type { Limits } from "../config.ts";
import { errorToResponse, HttpError, isDisconnect, ParseError } from "../errors.ts";
import {
  Exchange,
  type ExchangeContext,
  forwardedScheme,
  logAccess,
  trustedPeer,
} from "../exchange.ts";
import type { CidrList } from "../net/cidr.ts";
import type { ErrorHandler, Handler } from "../handler.ts";
import type { Logger } from "../log.ts";
import { Watchdog } from "../watchdog.ts";
import { authority } from "../address.ts";
import { BodyReader } from "./body.ts";
import type { BufferPool } from "./buffer_pool.ts";
import { IdleWait } from "./idle_wait.ts";
import { HeadScanner, type RequestHead } from "./parse.ts";
import { BufferedReader } from "./reader.ts";
import { requestUrl } from "./request.ts";
import { BodyError, type ByteSink, writeAll, writeResponse, type WriteResult } from "./response.ts";

/** A complete response as bytes, ready to write. */
export interface Prepared {
  /** Head and body. */
  readonly bytes: Uint8Array;
  /** The status code, for the access log. */
  readonly status: number;
  /** How many of the bytes are body. */
  readonly bodyBytes: number;
}

/**
 * Answers a request from its head alone, before any `Request` is built: a
 * complete response, or null to hand the request to the handler. It must
 * answer exactly as the handler would. The response carries `connection`
 * as its `Connection` field ("" for none) and `server` as its `Server`.
 */
export type Shortcut = (head: RequestHead, connection: string, server: string) => Prepared | null;

/** The parts of a connection the loop uses. */
export interface Connection {
  /** Reads into `p`; null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the sending side, so the client sees end of stream. */
  closeWrite(): Promise<void>;
  /** Closes the connection. */
  close(): void;
  /** The client's address. */
  readonly remoteAddr: Deno.Addr;
  /** This server's address. */
  readonly localAddr: Deno.Addr;
}

/** Options for {@linkcode serveConnection}. */
export interface ConnectionOptions {
  /** Limits and timeouts. */
  limits: Limits;
  /** Where access lines and faults go. */
  logger: Logger;
  /** The `Server` header value. */
  server: string;
  /**
   * Answers for a handler that throws. By default an `HttpError` becomes
   * its status and anything else is logged and becomes 500.
   */
  onError?: ErrorHandler;
  /**
   * Aborted when the server shuts down: a connection waiting for its next
   * request closes, and a request in progress is answered with
   * `Connection: close`.
   */
  closing?: AbortSignal;
  /** Answers some requests without the handler (cached files). */
  shortcut?: Shortcut;
  /** Buffers for sending file bodies; without them files are sent as streams. */
  buffers?: BufferPool;
  /** Told when the connection is closed because it stayed idle or a body stalled. */
  onTimeout?: (kind: "idle" | "body") => void;
  /** The scheme of request URLs: `https` over TLS (default `http`). */
  scheme?: "http" | "https";
  /** The proxies whose forwarding fields name the client and the scheme; none by default. */
  trustProxy?: CidrList | null;
}

/** After an error response, input is read and dropped for at most this long ... */
const LINGER_MS = 2000;
/** ... or this many bytes, so the client reads the response before the socket closes. */
const LINGER_BYTES = 1024 * 1024;

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** A signal that never aborts, for connections served without a server. */
const NEVER = new AbortController().signal;

/**
 * Serves one connection until the client or a response ends it.
 *
 * @param conn The accepted connection; it is closed when this resolves.
 * @param handler Answers each request.
 * @param options Limits, logger and the `Server` value.
 * @returns When the connection is closed. Never rejects.
 *
 * @example
 * ```ts
 * const conn = await listener.accept();
 * await serveConnection(conn, () => new Response("hi"), {
 *   limits: DEFAULT_LIMITS,
 *   logger: silentLogger,
 *   server: "portico",
 * });
 * ```
 */
export async function serveConnection(
  conn: Connection,
  handler: Handler,
  options: ConnectionOptions,
): Promise<void> {
  await new Http1Connection(conn, handler, options).serve();
}

/** One connection's state, and the steps that serve it. */
class Http1Connection {
  readonly #conn: Connection;
  readonly #options: ConnectionOptions;
  readonly #limits: Limits;
  readonly #closing: AbortSignal;
  readonly #context: ExchangeContext;
  readonly #fallbackHost: string;
  readonly #scanner: HeadScanner;
  /** While a body is read or a response written, the client must keep bytes moving. */
  readonly #watchdog: Watchdog;
  readonly #reader: BufferedReader;
  readonly #idle: IdleWait;
  readonly #fill = () => this.#reader.fill();
  /** Every write of a response goes through here, and marks that it has begun. */
  readonly #sink: ByteSink;
  #responseBegun = false;
  #requests = 0;
  /** Close by lingering: unread input must not reset what was just written. */
  #linger = false;

  constructor(conn: Connection, handler: Handler, options: ConnectionOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#limits = options.limits;
    this.#closing = options.closing ?? NEVER;
    this.#context = {
      handler,
      onError: options.onError,
      logger: options.logger,
      remoteAddr: conn.remoteAddr as Deno.NetAddr,
      trustProxy: options.trustProxy ?? null,
      trustRequestId: trustedPeer(options.trustProxy ?? null),
    };
    this.#fallbackHost = authority(conn.localAddr as Deno.NetAddr);
    this.#scanner = new HeadScanner(this.#limits);
    const timedOut = (kind: "idle" | "body") => {
      // An idle connection closed for a shutdown did not time out.
      if (!this.#closing.aborted) options.onTimeout?.(kind);
      closeQuietly(conn);
    };
    this.#watchdog = new Watchdog(this.#limits.bodyTimeoutMs, () => timedOut("body"));
    const progressed = (n: number | null): number | null => {
      this.#watchdog.progress();
      return n;
    };
    this.#reader = new BufferedReader({
      // Reads count as progress only while a body read or a write waits.
      read: (p) => this.#watchdog.waiting ? conn.read(p).then(progressed) : conn.read(p),
    });
    this.#idle = new IdleWait(this.#limits.idleTimeoutMs, this.#closing, () => timedOut("idle"));
    this.#sink = {
      write: (p) => {
        this.#responseBegun = true;
        return this.#write(p);
      },
    };
  }

  /** The loop: one request after another while the connection may be reused. */
  async serve(): Promise<void> {
    try {
      while (await this.#serveNext()) {
        // The next request.
      }
    } catch (error) {
      if (!isDisconnect(error)) this.#options.logger.error("connection failed", error);
    } finally {
      await this.#close();
    }
  }

  /** Reads one request and answers it; resolves to whether another may follow. */
  async #serveNext(): Promise<boolean> {
    let head: RequestHead | null;
    try {
      head = await this.#readHead();
    } catch (error) {
      if (error instanceof ParseError) await this.#reject(error, null, performance.now());
      return false;
    }
    if (head === null) {
      // Pipelined bytes left unanswered at shutdown must not turn the close into a reset.
      this.#linger = this.#reader.buffered > 0;
      return false;
    }
    this.#requests++;
    const started = performance.now();
    const reuse = await this.#answerPrepared(head, started) ?? await this.#exchange(head, started);
    if (!reuse) this.#linger ||= this.#reader.buffered > 0;
    return reuse;
  }

  /**
   * The next request head: waits for its first byte for at most the idle
   * timeout, then for the rest within the header timeout.
   *
   * @returns The head, or null when the connection should close quietly
   * (the client closed it, it stayed idle too long, or the server is closing).
   * @throws {ParseError} For an invalid head, or 408 when it came too slowly.
   */
  async #readHead(): Promise<RequestHead | null> {
    if (this.#closing.aborted) return null;
    if (this.#reader.buffered === 0 && !await this.#idle.wait(this.#fill)) {
      return null;
    }
    // Usually the whole head came in one read: no timer is needed.
    return this.#reader.bufferedHead(this.#scanner) ??
      await readHeadInTime(this.#reader, this.#scanner, this.#limits);
  }

  /**
   * The one decision whether this connection may carry another request
   * after the one with `head`. With `body`, it also weighs what is left of
   * the request body: a body nobody has started to read will not be sent by
   * a client awaiting 100 Continue, so its bytes cannot be skipped, and more
   * than `maxDrainBytes` still to come are not worth reading. The response
   * itself may still ask to close (`Connection: close`, or an HTTP/1.0 body
   * delimited by closing), and so may a drain that fails.
   */
  #mayReuse(head: RequestHead, body?: BodyReader): boolean {
    if (!head.keepAlive || this.#closing.aborted) return false;
    const max = this.#limits.maxRequestsPerConnection;
    if (max !== 0 && this.#requests >= max) return false;
    if (body === undefined) return true;
    const unreadable = head.expectContinue && !body.started && !body.done;
    return !unreadable && body.remaining <= this.#limits.maxDrainBytes;
  }

  /**
   * Answers from the shortcut when it has the response: one write of bytes
   * made beforehand.
   *
   * @returns Null when the shortcut has no answer; otherwise whether the
   * connection may persist.
   */
  async #answerPrepared(head: RequestHead, started: number): Promise<boolean | null> {
    const shortcut = this.#options.shortcut;
    if (shortcut === undefined) return null;
    const reuse = this.#mayReuse(head);
    const connection = reuse ? (head.minor === 0 ? "keep-alive" : "") : "close";
    const prepared = shortcut(head, connection, this.#options.server);
    if (prepared === null) return null;
    const { bytes, bodyBytes } = prepared;
    let written = 0;
    try {
      while (written < bytes.length) written += await this.#write(bytes.subarray(written));
    } catch (error) {
      const sent = Math.max(0, written - (bytes.length - bodyBytes));
      logAccess(this.#context, head, { status: prepared.status, bodyBytes: sent }, started, true);
      throw error;
    }
    logAccess(this.#context, head, prepared, started);
    return reuse;
  }

  /** One request through the handler; resolves to whether the connection may persist. */
  async #exchange(head: RequestHead, started: number): Promise<boolean> {
    let url: URL;
    try {
      url = this.#admit(head);
    } catch (error) {
      await this.#reject(error, head, started);
      return false;
    }
    const exchange = new Exchange(head, this.#context, started);
    this.#responseBegun = false;
    const body = this.#bodyOf(exchange);
    try {
      return await this.#respond(exchange, body, url);
    } finally {
      body.detach();
      // However the exchange ended, completed settles (a no-op once it has).
      exchange.finish("The response was not sent");
    }
  }

  /**
   * What must hold before a request reaches the handler.
   *
   * @returns The request's URL.
   * @throws {ParseError} 413 for a declared body over the limit, 400 for a
   * target and Host that make no URL.
   */
  #admit(head: RequestHead): URL {
    if (head.framing.kind === "length" && head.framing.length > this.#limits.maxBodyBytes) {
      throw new ParseError(413, "Request body is larger than the limit");
    }
    const scheme = forwardedScheme(head, this.#context) ?? this.#options.scheme ?? "http";
    return requestUrl(head, scheme, this.#fallbackHost);
  }

  /** Runs the handler, writes its response and finishes the request body. */
  async #respond(exchange: Exchange, body: BodyReader, url: URL): Promise<boolean> {
    const head = exchange.head;
    // The Fetch model gives GET, HEAD and TRACE no body: drop one before the handler runs.
    const passBody = head.framing.kind !== "none" && head.method !== "GET" &&
      head.method !== "HEAD" && head.method !== "TRACE";
    if (head.framing.kind !== "none" && !passBody) {
      try {
        await body.discard();
      } catch (error) {
        await this.#reject(error, head, exchange.started);
        return false;
      }
    }
    const stream = passBody ? body.stream() : null;
    const response = await exchange.respond(url, stream, () => body.failure !== null);
    // A request body that failed (too large, malformed, cut short) decides
    // the answer, whatever the handler made of it.
    if (body.failure !== null) {
      await response.body?.cancel().catch(() => {});
      return await this.#bodyFailed(exchange, body.failure);
    }
    const result = await this.#send(exchange, response, body);
    if (result === null) return false;
    exchange.finish(null);
    body.detach();
    exchange.log(result);
    return await this.#finishBody(body, result.keepAlive);
  }

  /**
   * The request body, read from the connection's buffer; `100 Continue` is
   * sent when the handler first reads it, and the client's leaving aborts
   * the exchange.
   */
  #bodyOf(exchange: Exchange): BodyReader {
    const head = exchange.head;
    const watch = new DisconnectWatch(this.#reader, exchange);
    const body = new BodyReader(this.#reader, head.framing, {
      maxBodyBytes: this.#limits.maxBodyBytes,
      // RFC 9110 §10.1.1: send 100 only when the body is actually wanted, and
      // never once the final response has begun.
      onFirstRead: head.expectContinue && head.minor === 1
        ? async () => {
          if (!this.#responseBegun) await writeAll({ write: (p) => this.#write(p) }, CONTINUE);
        }
        : undefined,
      waits: this.#watchdog,
      onEnd: (error) => {
        if (exchange.settled) return;
        if (error === null) watch.start(); // the body may have emptied a full buffer
        else exchange.abort();
      },
    });
    watch.start();
    return body;
  }

  /**
   * Writes the response, deciding persistence as its head is written.
   *
   * @returns The result, or null when it could not be sent (already
   * answered or logged as cut short).
   */
  async #send(
    exchange: Exchange,
    response: Response,
    body: BodyReader,
  ): Promise<WriteResult | null> {
    const head = exchange.head;
    const progress = { bodyBytes: 0 };
    const mayReuse = () => this.#mayReuse(head, body);
    const context = {
      method: head.method,
      minor: head.minor,
      server: this.#options.server,
      progress,
      buffers: this.#options.buffers,
      // Read when the head is written, after the response's first piece
      // (which may be the request body's).
      get keepAlive(): boolean {
        return mayReuse();
      },
    };
    try {
      return await writeResponse(this.#sink, response, context);
    } catch (error) {
      await this.#sendFailed(exchange, response.status, body, error, progress.bodyBytes);
      return null;
    }
  }

  /** A response that could not be written: answer 500 if nothing was sent, else log it cut short. */
  async #sendFailed(
    exchange: Exchange,
    status: number,
    body: BodyReader,
    error: unknown,
    bodyBytes: number,
  ): Promise<void> {
    if (body.failure !== null && !(error instanceof BodyError && error.headSent)) {
      await this.#bodyFailed(exchange, body.failure);
      return;
    }
    exchange.finish("The response could not be sent");
    const cutShort = { status, bodyBytes };
    if (!(error instanceof BodyError)) {
      if (!isDisconnect(error)) throw error;
      // The client went away (or stalled and was cut off) mid-response.
      exchange.log(cutShort, true);
      return;
    }
    const head = exchange.head;
    if (body.failure === null) {
      this.#options.logger.error(`response body failed for ${head.method} ${head.target}`, error);
    }
    if (error.headSent) exchange.log(cutShort, true);
    else await this.#reject(new HttpError(500), head, exchange.started);
  }

  /** The request body failed: its error is the answer, unless the client has gone. */
  async #bodyFailed(exchange: Exchange, failure: unknown): Promise<false> {
    exchange.finish("The request body failed");
    if (!isDisconnect(failure)) await this.#reject(failure, exchange.head, exchange.started);
    return false;
  }

  /**
   * Unread body bytes: drops a few so the next request parses from the
   * right byte, or closes; a lingering close keeps them from resetting the
   * connection before the client has read the response.
   *
   * @returns Whether the connection may carry the next request.
   */
  async #finishBody(body: BodyReader, keepAlive: boolean): Promise<boolean> {
    if (body.done) return keepAlive;
    if (keepAlive) {
      try {
        if (await body.discard(this.#limits.maxDrainBytes)) return true;
      } catch (error) {
        if (isDisconnect(error)) return false;
      }
    }
    this.#linger = true;
    return false;
  }

  /**
   * Answers an error that ends the connection: a bad head, a refused or
   * failed body, a response that could not begin.
   */
  async #reject(error: unknown, head: RequestHead | null, started: number): Promise<void> {
    this.#linger = true;
    const response = errorToResponse(error, (failure) => {
      if (!isDisconnect(failure)) this.#options.logger.error("request failed", failure);
    });
    const context = {
      method: head?.method ?? "GET",
      minor: head?.minor ?? 1,
      keepAlive: false,
      server: this.#options.server,
    };
    const result = await writeResponse({ write: (p) => this.#write(p) }, response, context);
    logAccess(this.#context, head, result, started);
  }

  /** Every write goes through here, under the progress watchdog. */
  #write(p: Uint8Array): Promise<number> {
    const watchdog = this.#watchdog;
    watchdog.begin();
    return this.#conn.write(p).then((n) => {
      watchdog.end(true);
      return n;
    }, (error) => {
      watchdog.end();
      throw error;
    });
  }

  async #close(): Promise<void> {
    this.#watchdog.stop();
    this.#idle.stop();
    if (this.#linger) await lingeringClose(this.#conn, this.#reader);
    closeQuietly(this.#conn);
  }
}

/**
 * Watches for the client leaving while a request is handled: a read that
 * meets the end of the stream means the client has gone (a half-close is
 * not kept open, as in Deno.serve), and the handler's signal aborts. It
 * reads ahead into the connection's buffer without consuming, so body bytes
 * and pipelined requests stay there for their readers, and pauses while the
 * buffer is full.
 */
class DisconnectWatch {
  readonly #reader: BufferedReader;
  readonly #exchange: Exchange;
  #watching = false;

  constructor(reader: BufferedReader, exchange: Exchange) {
    this.#reader = reader;
    this.#exchange = exchange;
  }

  start(): void {
    if (this.#watching || this.#exchange.settled) return;
    this.#watching = true;
    this.#reader.ended().then((ended) => {
      this.#watching = false;
      if (this.#exchange.settled) return;
      if (ended) this.#exchange.abort();
      else if (!this.#reader.full) this.start();
    });
  }
}

/**
 * Closes a connection that may already be closed.
 *
 * @param conn The connection.
 */
export function closeQuietly(conn: Connection): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

const TIMED_OUT = Symbol("timed out");

/**
 * Reads the rest of a head that has begun to arrive: a request whose head
 * is not complete within `headerTimeoutMs` gets 408.
 *
 * @returns The head, or null when the client closed the connection cleanly.
 * @throws {ParseError} For an invalid head (or 408 on timeout).
 */
async function readHeadInTime(
  reader: BufferedReader,
  scanner: HeadScanner,
  limits: Limits,
): Promise<RequestHead | null> {
  const reading = reader.readHead(scanner, limits.maxHeadBytes);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), limits.headerTimeoutMs);
  });
  try {
    const head = await Promise.race([reading, late]);
    if (head === TIMED_OUT) {
      reading.catch(() => {}); // The read is abandoned with the connection.
      throw new ParseError(408, "The request head took too long");
    }
    return head;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes the sending side and drops what the client still sends for a short
 * while, so that a response written just before closing is not destroyed by
 * a TCP reset triggered by unread input.
 */
async function lingeringClose(conn: Connection, reader: BufferedReader): Promise<void> {
  const timer = setTimeout(() => closeQuietly(conn), LINGER_MS);
  try {
    await conn.closeWrite();
    let total = 0;
    while (total < LINGER_BYTES) {
      const n = await reader.skip(LINGER_BYTES);
      if (n === null) break;
      total += n;
    }
  } catch {
    // The client is gone or the timer closed the connection.
  } finally {
    clearTimeout(timer);
  }
}
