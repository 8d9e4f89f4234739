/**
 * The per-connection loop: read a request head, hand a Fetch `Request` to the
 * handler, write its `Response`, finish the request body, and go round again
 * while the connection may persist. Requests on one connection are answered
 * strictly in order, so pipelined requests need nothing special: their bytes
 * wait in the reader's buffer. Every error becomes a status here, in one
 * place.
 *
 * @module
 */

import type { Limits } from "./config.ts";
import { errorStatus, HttpError, ParseError } from "./errors.ts";
import { BodyReader } from "./http/body.ts";
import type { BufferPool } from "./http/buffer_pool.ts";
import { errorResponse } from "./http/error_page.ts";
import { HeadScanner, type RequestHead } from "./http/parse.ts";
import { BufferedReader } from "./http/reader.ts";
import { rawPath, requestUrl, toRequest } from "./http/request.ts";
import { BodyError, writeAll, writeResponse, type WriteResult } from "./http/response.ts";
import { isBodylessStatus } from "./http/status.ts";
import type { Logger } from "./log.ts";
import { Watchdog } from "./watchdog.ts";

/**
 * What a handler learns besides the request: the fields of
 * `Deno.ServeHandlerInfo`, and the raw path.
 */
export interface ServeInfo {
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /**
   * The request-target's path exactly as sent (percent-encoded, dot segments
   * kept), for handlers that must judge what the client asked for rather
   * than what `URL` made of it.
   */
  readonly rawPath: string;
  /**
   * Resolves when the whole response has been written to the connection;
   * rejects with `Deno.errors.Interrupted` when it could not be (the client
   * left, the body failed).
   */
  readonly completed: Promise<void>;
}

/** A Fetch handler: the only thing the connection layer knows about the application. */
export type Handler = (request: Request, info: ServeInfo) => Response | Promise<Response>;

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

/** Turns an error thrown by a handler into the response to send. */
export type ErrorHandler = (error: unknown) => Response | Promise<Response>;

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
   * Answers for a handler that throws. By default an {@linkcode HttpError}
   * becomes its status and anything else is logged and becomes 500.
   */
  onError?: ErrorHandler;
  /**
   * Aborted when the server shuts down: a connection waiting for its next
   * request closes, and a request in progress is answered with
   * `Connection: close`.
   */
  closing?: AbortSignal;
  /** Answers some requests without the handler (the static layer's cached files). */
  shortcut?: Shortcut;
  /** Buffers for sending file bodies; without them files are sent as streams. */
  buffers?: BufferPool;
}

/** After an error response, input is read and dropped for at most this long ... */
const LINGER_MS = 2000;
/** ... or this many bytes, so the client reads the response before the socket closes. */
const LINGER_BYTES = 1024 * 1024;

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * Serves one connection until the client or a response ends it.
 *
 * @param conn The accepted connection; it is closed when this resolves.
 * @param handler Answers each request.
 * @param options Limits, logger and the `Server` value.
 * @returns When the connection is closed. Never rejects.
 */
export async function serveConnection(
  conn: Connection,
  handler: Handler,
  options: ConnectionOptions,
): Promise<void> {
  const { limits, logger } = options;
  const closing = options.closing ?? NEVER;
  // While a body is read or a response written, the client must keep
  // bytes moving; one that stalls loses the connection.
  const watchdog = new Watchdog(limits.bodyTimeoutMs, () => closeQuietly(conn));
  const progressed = (n: number | null): number | null => {
    watchdog.progress();
    return n;
  };
  const reader = new BufferedReader({
    // Reads count as progress only while a body read or a write waits.
    read: (p) => watchdog.waiting ? conn.read(p).then(progressed) : conn.read(p),
  });
  /** Every write goes through here, under the watchdog. */
  const out = {
    write: (p: Uint8Array): Promise<number> => {
      watchdog.begin();
      return conn.write(p).then((n) => {
        watchdog.end(true);
        return n;
      }, (error) => {
        watchdog.end();
        throw error;
      });
    },
  };
  const scanner = new HeadScanner(limits);
  const remoteAddr = conn.remoteAddr as Deno.NetAddr;
  const remote = remoteAddr.hostname ?? "-";
  const fallbackHost = authority(conn.localAddr as Deno.NetAddr);
  let linger = false;
  let requests = 0;

  /** Answers an error that ends the connection. */
  const reject = async (
    status: number,
    detail: string,
    head: RequestHead | null,
    started: number,
  ): Promise<void> => {
    linger = true;
    const response = errorResponse(status, detail);
    const context = {
      method: head?.method ?? "GET",
      minor: head?.minor ?? 1,
      keepAlive: false,
      server: options.server,
    };
    const result = await writeResponse(out, response, context);
    logAccess(head, result, started);
  };

  const logAccess = (
    head: RequestHead | null,
    result: Pick<WriteResult, "status" | "bodyBytes">,
    started: number,
    incomplete = false,
  ): void => {
    logger.access({
      remote,
      method: head?.method ?? "-",
      target: head?.target ?? "-",
      status: result.status,
      bytes: result.bodyBytes,
      milliseconds: performance.now() - started,
      incomplete,
    });
  };

  /** The response for a handler that threw. */
  const answerError = async (error: unknown, head: RequestHead): Promise<Response> => {
    if (options.onError !== undefined) {
      try {
        const response = await options.onError(error);
        if (response instanceof Response) return response;
        throw new TypeError("onError did not return a Response");
      } catch (failure) {
        logger.error(`onError failed for ${head.method} ${head.target}`, failure);
        return errorResponse(500);
      }
    }
    let status = errorStatus(error);
    if (!(error instanceof HttpError) || status < 200 || status > 599) {
      logger.error(`handler failed for ${head.method} ${head.target}`, error);
      status = 500;
    }
    if (isBodylessStatus(status)) return new Response(null, { status });
    return errorResponse(status, status === 500 ? undefined : (error as Error).message);
  };

  /** One request and its response; resolves to whether the connection may persist. */
  const exchange = async (head: RequestHead, started: number): Promise<boolean> => {
    if (head.framing.kind === "length" && head.framing.length > limits.maxBodyBytes) {
      await reject(413, "Request body is larger than the limit", head, started);
      return false;
    }
    let url: URL;
    try {
      url = requestUrl(head, "http", fallbackHost);
    } catch (error) {
      await reject(errorStatus(error), (error as Error).message, head, started);
      return false;
    }

    const info = new ExchangeInfo(remoteAddr, rawPath(head));
    const aborter = new AbortController();
    /**
     * Ends the exchange for the handler: `completed` settles, and a failure
     * (why the response was not sent) aborts the signal.
     */
    const finish = (failure: string | null): void => {
      if (info.settled) return;
      if (failure === null) {
        info.settle(null);
        return;
      }
      aborter.abort();
      info.settle(new Deno.errors.Interrupted(failure));
    };
    // A read that meets the end of the stream means the client has gone (a
    // half-close is not kept open, as in Deno.serve): the signal tells the
    // handler to stop. The watch reads ahead into the connection's buffer
    // without consuming, so body bytes and pipelined requests stay there for
    // their readers; it pauses while the buffer is full.
    let watching = false;
    const watch = (): void => {
      if (watching || info.settled) return;
      watching = true;
      reader.ended().then((ended) => {
        watching = false;
        if (info.settled) return;
        if (ended) aborter.abort();
        else if (!reader.full) watch();
      });
    };
    let headWritten = false;
    const sink = {
      write: (p: Uint8Array): Promise<number> => {
        headWritten = true;
        return out.write(p);
      },
    };
    const progress = { bodyBytes: 0 };
    const body = new BodyReader(reader, head.framing, {
      maxBodyBytes: limits.maxBodyBytes,
      // RFC 9110 §10.1.1: send 100 only when the body is actually wanted, and
      // never once the final response has begun.
      onFirstRead: head.expectContinue && head.minor === 1
        ? async () => {
          if (!headWritten) await writeAll(out, CONTINUE);
        }
        : undefined,
      waits: watchdog,
      onEnd: (error) => {
        if (info.settled) return;
        if (error === null) watch(); // the body may have emptied a full buffer
        else aborter.abort();
      },
    });
    watch();
    // The Fetch model gives GET, HEAD and TRACE no body: drop one before the handler runs.
    const passBody = head.framing.kind !== "none" && head.method !== "GET" &&
      head.method !== "HEAD" && head.method !== "TRACE";
    if (head.framing.kind !== "none" && !passBody) {
      try {
        await body.discard();
      } catch (error) {
        await reject(errorStatus(error), (error as Error).message, head, started);
        return false;
      }
    }

    try {
      let response: Response;
      if (head.form === "asterisk") {
        // OPTIONS * asks about the server as a whole (RFC 9110 §9.3.7).
        response = new Response(null, { status: 204 });
      } else {
        try {
          const request = toRequest(head, url, passBody ? body.stream() : null, aborter.signal);
          response = await handler(request, info);
          if (!(response instanceof Response)) {
            throw new TypeError("Handler did not return a Response");
          }
        } catch (error) {
          response = body.failure === null ? await answerError(error, head) : errorResponse(500);
        }
      }

      // A request body that failed (too large, malformed, cut short) decides
      // the answer, whatever the handler made of it.
      const failed = async (failure: unknown): Promise<false> => {
        finish("The request body failed");
        if (!isDisconnect(failure)) {
          await reject(errorStatus(failure), (failure as Error).message, head, started);
        }
        return false;
      };
      if (body.failure !== null) {
        await response.body?.cancel().catch(() => {});
        return await failed(body.failure);
      }

      const context = {
        method: head.method,
        minor: head.minor,
        server: options.server,
        progress,
        buffers: options.buffers,
        // Decided as the head is written, after the response's first piece
        // (which may be the request body's). A body nobody has started to
        // read will not be sent by a client awaiting 100 Continue, so its
        // bytes cannot be skipped; more than maxDrainBytes still to come are
        // not worth reading. Either way, say that the connection will close.
        get keepAlive(): boolean {
          const unreadable = head.expectContinue && !body.started && !body.done;
          return persists(head) && !unreadable && body.remaining <= limits.maxDrainBytes;
        },
      };
      const logCutShort = () =>
        logAccess(head, { status: response.status, bodyBytes: progress.bodyBytes }, started, true);
      let result: WriteResult;
      try {
        result = await writeResponse(sink, response, context);
      } catch (error) {
        if (body.failure !== null && !(error instanceof BodyError && error.headSent)) {
          return await failed(body.failure);
        }
        finish("The response could not be sent");
        if (!(error instanceof BodyError)) {
          if (!isDisconnect(error)) throw error;
          // The client went away (or stalled and was cut off) mid-response.
          logCutShort();
          return false;
        }
        if (body.failure === null) {
          logger.error(`response body failed for ${head.method} ${head.target}`, error);
        }
        if (!error.headSent) await reject(500, "Internal Server Error", head, started);
        else logCutShort();
        return false;
      }
      finish(null);
      body.detach();
      logAccess(head, result, started);

      if (!body.done) {
        // Unread body bytes: drop a few so the next request parses from the
        // right byte, or close; a lingering close keeps them from resetting
        // the connection before the client has read the response.
        let drained = false;
        if (result.keepAlive) {
          try {
            drained = await body.discard(limits.maxDrainBytes);
          } catch (error) {
            if (isDisconnect(error)) return false;
          }
        }
        if (!drained) {
          linger = true;
          return false;
        }
      }
      return result.keepAlive;
    } finally {
      body.detach();
      // However the exchange ended, completed settles (a no-op once it has).
      finish("The response was not sent");
    }
  };

  /** Whether the client and the server's state let the connection carry another request. */
  const persists = (head: RequestHead): boolean =>
    head.keepAlive && !closing.aborted &&
    (limits.maxRequestsPerConnection === 0 || requests < limits.maxRequestsPerConnection);

  /**
   * Answers from the shortcut when it has the response: one write of bytes
   * made beforehand.
   *
   * @returns Null when the shortcut has no answer; otherwise whether the
   * connection may persist.
   */
  const shortcut = async (head: RequestHead, started: number): Promise<boolean | null> => {
    if (options.shortcut === undefined) return null;
    const keepAlive = persists(head);
    const connection = keepAlive ? (head.minor === 0 ? "keep-alive" : "") : "close";
    const prepared = options.shortcut(head, connection, options.server);
    if (prepared === null) return null;
    const { bytes, bodyBytes } = prepared;
    let written = 0;
    try {
      while (written < bytes.length) written += await out.write(bytes.subarray(written));
    } catch (error) {
      const sent = Math.max(0, written - (bytes.length - bodyBytes));
      logAccess(head, { status: prepared.status, bodyBytes: sent }, started, true);
      throw error;
    }
    logAccess(head, prepared, started);
    return keepAlive;
  };

  // Between requests the connection waits for the first byte of the next
  // one, for at most idleTimeoutMs, and not once the server is closing.
  // One watchdog per connection (re-made only after a wait that came close)
  // rather than a timer per request.
  let waiting = false;
  let closedWhileWaiting = false;
  const closeWaiting = (): void => {
    if (!waiting) return;
    closedWhileWaiting = true;
    closeQuietly(conn);
  };
  const idleWatchdog = (): Watchdog =>
    new Watchdog(limits.idleTimeoutMs, () => {
      // A read that completed during a busy stretch of the event loop gets
      // one more turn to be seen before the connection is given up.
      setTimeout(() => {
        if (waiting) closeWaiting();
        else idle = idleWatchdog();
      }, 0);
    });
  let idle = idleWatchdog();
  closing.addEventListener("abort", closeWaiting, { once: true });

  /**
   * The next request head, within the limits' time.
   *
   * @returns The head, or null when the connection should close quietly
   * (the client closed it, it stayed idle too long, or the server is closing).
   * @throws {ParseError} For an invalid head, or 408 when it came too slowly.
   */
  const nextHead = async (): Promise<RequestHead | null> => {
    if (closing.aborted) return null;
    if (reader.buffered === 0) {
      waiting = true;
      idle.begin();
      try {
        if (!await reader.fill()) return null;
      } catch (error) {
        if (closedWhileWaiting) return null;
        throw error;
      } finally {
        waiting = false;
        idle.end();
      }
    }
    // Usually the whole head came in one read: no timer is needed.
    return reader.bufferedHead(scanner) ?? await readHeadInTime(reader, scanner, limits);
  };

  try {
    while (true) {
      let head: RequestHead | null;
      try {
        head = await nextHead();
      } catch (error) {
        if (error instanceof ParseError) {
          await reject(error.status, error.message, null, performance.now());
        }
        return;
      }
      if (head === null) {
        // Pipelined bytes left unanswered at shutdown must not turn the close into a reset.
        linger = reader.buffered > 0;
        return;
      }
      requests++;
      const started = performance.now();
      const persist = await shortcut(head, started) ?? await exchange(head, started);
      if (!persist) {
        linger ||= reader.buffered > 0;
        return;
      }
    }
  } catch (error) {
    if (!isDisconnect(error)) logger.error("connection failed", error);
  } finally {
    watchdog.stop();
    idle.stop();
    closing.removeEventListener("abort", closeWaiting);
    if (linger) await lingeringClose(conn, reader);
    closeQuietly(conn);
  }
}

/** A signal that never aborts, for connections served without a server. */
const NEVER = new AbortController().signal;

function closeQuietly(conn: Connection): void {
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
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }, LINGER_MS);
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

/**
 * The {@linkcode ServeInfo} of one exchange. `completed` is made only when a
 * handler asks for it, and is marked handled so that a failure nobody awaits is
 * not reported as an unhandled rejection.
 */
class ExchangeInfo implements ServeInfo {
  readonly remoteAddr: Deno.NetAddr;
  readonly rawPath: string;
  #outcome: Error | null | undefined = undefined;
  #completed: PromiseWithResolvers<void> | null = null;

  constructor(remoteAddr: Deno.NetAddr, rawPath: string) {
    this.remoteAddr = remoteAddr;
    this.rawPath = rawPath;
  }

  get completed(): Promise<void> {
    if (this.#completed === null) {
      this.#completed = Promise.withResolvers<void>();
      this.#completed.promise.catch(() => {});
      if (this.#outcome !== undefined) this.#deliver(this.#outcome);
    }
    return this.#completed.promise;
  }

  /** Whether the response has been sent or has failed. */
  get settled(): boolean {
    return this.#outcome !== undefined;
  }

  /** Records how the response ended: null when it was sent, else why not. */
  settle(failure: Error | null): void {
    if (this.settled) return;
    this.#outcome = failure;
    if (this.#completed !== null) this.#deliver(failure);
  }

  #deliver(failure: Error | null): void {
    if (failure === null) this.#completed!.resolve();
    else this.#completed!.reject(failure);
  }
}

/** Whether an error only means that the peer went away. */
export function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted;
}

/** `host:port` for an address, with brackets around IPv6. */
export function authority(addr: Deno.NetAddr): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return `${host}:${addr.port}`;
}
