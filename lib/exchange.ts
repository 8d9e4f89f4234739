/**
 * One request's life apart from how it travels: build the Fetch `Request`,
 * call the handler, turn whatever it throws into a response, settle
 * `completed` and the request's `signal`, and write the access-log entry.
 * A protocol (HTTP/1.1 today) parses the head, frames the body and writes
 * the response; it hands everything else to an {@linkcode Exchange}.
 *
 * @module
 */

import { errorToResponse } from "./errors.ts";
import type { ErrorHandler, Handler, ServeInfo } from "./handler.ts";
import { errorResponse } from "./http/error_page.ts";
import type { RequestHead } from "./http/parse.ts";
import { rawPath, toRequest } from "./http/request.ts";
import { forwardedClient } from "./forwarded.ts";
import { clientAddress, type Logger } from "./log.ts";
import { type CidrList, normaliseAddress } from "./net/cidr.ts";

/** What every exchange on one connection shares. */
export interface ExchangeContext {
  /** Answers each request. */
  readonly handler: Handler;
  /** Answers for a handler that throws; by default {@linkcode errorToResponse}. */
  readonly onError?: ErrorHandler;
  /** Where access lines and faults go. */
  readonly logger: Logger;
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /**
   * Whether a request from this peer may name itself: its `X-Request-Id`
   * is then kept as its id (a load balancer that assigns ids). By default
   * no peer may, and every request gets an id of this server's.
   */
  readonly trustRequestId?: (peer: Deno.NetAddr) => boolean;
  /**
   * The proxies whose `Forwarded` and `X-Forwarded-*` fields name the
   * client (and the scheme); none by default.
   */
  readonly trustProxy?: CidrList | null;
}

/** How much of a response reached the client, for the access log. */
export interface Delivery {
  /** The status sent. */
  readonly status: number;
  /** Body bytes sent. */
  readonly bodyBytes: number;
}

/**
 * One request and its response, from the moment its head is known until the
 * response has been sent or has failed.
 *
 * @example
 * ```ts
 * const exchange = new Exchange(head, context, performance.now());
 * const response = await exchange.respond(url, null);
 * // ... write the response ...
 * exchange.finish(null);
 * exchange.log({ status: response.status, bodyBytes: 12 });
 * ```
 */
export class Exchange {
  /** The request head. */
  readonly head: RequestHead;
  /** When the head was complete, by `performance.now()`. */
  readonly started: number;
  /** The request's id, logged and (when the logger asks) sent as `X-Request-Id`. */
  readonly requestId: string;
  readonly #context: ExchangeContext;
  readonly #aborter = new AbortController();
  readonly #info: ExchangeInfo;

  /**
   * @param head The parsed request head.
   * @param context The connection's handler, logger and client.
   * @param started When the head was complete.
   */
  constructor(head: RequestHead, context: ExchangeContext, started: number) {
    this.head = head;
    this.started = started;
    this.#context = context;
    this.#info = new ExchangeInfo(clientOf(head, context), rawPath(head));
    this.requestId = requestIdOf(head, context);
  }

  /** Whether the response has been sent or has failed. */
  get settled(): boolean {
    return this.#info.settled;
  }

  /**
   * Runs the handler. Whatever it throws or returns that is not a
   * `Response` becomes one here, through {@linkcode answerError}.
   *
   * @param url The request's absolute URL.
   * @param body The request body, or null.
   * @param bodyFailed Whether the request body has failed; what the handler
   * throws then is a consequence of it, answered with 500 but not logged
   * (the protocol answers the body's own error instead).
   * @returns The response to send, carrying `X-Request-Id` when the logger asks for it.
   */
  async respond(
    url: URL,
    body: ReadableStream<Uint8Array> | null,
    bodyFailed: () => boolean = () => false,
  ): Promise<Response> {
    const response = await this.#answer(url, body, bodyFailed);
    return this.#context.logger.requestIdHeader
      ? withRequestId(response, this.requestId)
      : response;
  }

  /** The handler's response, or the answer to what it threw. */
  async #answer(
    url: URL,
    body: ReadableStream<Uint8Array> | null,
    bodyFailed: () => boolean,
  ): Promise<Response> {
    const head = this.head;
    // OPTIONS * asks about the server as a whole (RFC 9110 §9.3.7).
    if (head.form === "asterisk") return new Response(null, { status: 204 });
    try {
      const request = toRequest(head, url, body, this.#aborter.signal);
      const response = await this.#context.handler(request, this.#info);
      if (!(response instanceof Response)) {
        throw new TypeError("Handler did not return a Response");
      }
      return response;
    } catch (error) {
      if (bodyFailed()) return errorResponse(500);
      return await answerError(error, this.#context, `${head.method} ${head.target}`);
    }
  }

  /** The client has gone, or its body failed: the handler's signal aborts. */
  abort(): void {
    if (!this.settled) this.#aborter.abort();
  }

  /**
   * Ends the exchange for the handler: `completed` resolves (failure null)
   * or rejects with why the response was not sent, which also aborts the
   * signal. Only the first call counts.
   *
   * @param failure Null when the whole response was written.
   */
  finish(failure: string | null): void {
    if (this.settled) return;
    if (failure !== null) this.#aborter.abort();
    this.#info.settle(failure === null ? null : new Deno.errors.Interrupted(failure));
  }

  /**
   * Writes the access-log entry.
   *
   * @param delivery The status and body bytes sent.
   * @param incomplete Whether the response was cut short.
   */
  log(delivery: Delivery, incomplete = false): void {
    logAccess(this.#context, this.head, delivery, this.started, incomplete, this.requestId);
  }
}

/**
 * Writes an access-log entry for a request, or for bytes that never became
 * one (head null).
 *
 * @param context The logger and the client.
 * @param head The request head, or null when it could not be parsed.
 * @param delivery The status and body bytes sent.
 * @param started When the request began.
 * @param incomplete Whether the response was cut short.
 * @param requestId The request's id; by default a new one (or the trusted
 * peer's), for a request that never became an {@linkcode Exchange}.
 */
export function logAccess(
  context: Pick<ExchangeContext, "logger" | "remoteAddr" | "trustRequestId" | "trustProxy">,
  head: RequestHead | null,
  delivery: Delivery,
  started: number,
  incomplete = false,
  requestId: string = requestIdOf(head, context),
): void {
  context.logger.access({
    remote: clientAddress(clientOf(head, context).hostname ?? "-"),
    method: head?.method ?? "-",
    target: head?.target ?? "-",
    protocol: head === null ? "-" : PROTOCOLS[head.minor],
    status: delivery.status,
    bytes: delivery.bodyBytes,
    milliseconds: performance.now() - started,
    // Read from the head's text: only these two values are decoded.
    userAgent: head?.get("user-agent") ?? null,
    referrer: head?.get("referer") ?? null,
    requestId,
    incomplete,
  });
}

/** The protocol of each minor version, as the log writes it. */
const PROTOCOLS = { 0: "HTTP/1.0", 1: "HTTP/1.1" } as const;

/** The response header that carries a request's id. */
export const REQUEST_ID_HEADER = "x-request-id";

/** The longest `X-Request-Id` a trusted peer may give; a longer one is replaced. */
const MAX_REQUEST_ID_LENGTH = 200;

/** Visible ASCII only: an id is copied into logs and response headers. */
const REQUEST_ID_SYNTAX = /^[\x21-\x7e]+$/;

/**
 * Names requests: a random prefix, drawn once per process or worker (so
 * that the workers of one server, and the replicas behind one balancer,
 * do not repeat each other's ids), then a counter, both in base 36.
 *
 * @example
 * ```ts
 * const ids = new RequestIds();
 * ids.next(); // "kq3v9z0d2m-1"
 * ids.next(); // "kq3v9z0d2m-2"
 * ```
 */
export class RequestIds {
  readonly #prefix: string;
  #count = 0;

  /** @param random Fills bytes with random values; `crypto.getRandomValues` by default. */
  constructor(random: (bytes: Uint8Array) => void = (bytes) => crypto.getRandomValues(bytes)) {
    // 48 random bits: a collision between two processes is a one in 2^48 chance.
    const bytes = new Uint8Array(6);
    random(bytes);
    let value = 0;
    for (const byte of bytes) value = value * 256 + byte;
    this.#prefix = value.toString(36).padStart(10, "0");
  }

  /**
   * The next id.
   *
   * @returns A new id.
   */
  next(): string {
    return `${this.#prefix}-${(++this.#count).toString(36)}`;
  }
}

/** This process's (or worker's) ids. */
const REQUEST_IDS = new RequestIds();

/**
 * The id of a request: the one it carries in `X-Request-Id` when its peer
 * is trusted to name requests and the id is short visible ASCII, else a
 * new one.
 *
 * @param head The request head, or null when it could not be parsed.
 * @param context The client and whether it is trusted.
 * @param ids Where new ids come from.
 * @returns The id.
 *
 * @example
 * ```ts
 * requestIdOf(head, { remoteAddr }); // "kq3v9z0d2m-7"
 * ```
 */
export function requestIdOf(
  head: RequestHead | null,
  context: Pick<ExchangeContext, "remoteAddr" | "trustRequestId">,
  ids: RequestIds = REQUEST_IDS,
): string {
  if (head !== null && context.trustRequestId?.(context.remoteAddr)) {
    const given = head.get(REQUEST_ID_HEADER);
    if (
      given !== null && given.length <= MAX_REQUEST_ID_LENGTH && REQUEST_ID_SYNTAX.test(given)
    ) {
      return given;
    }
  }
  return ids.next();
}

/**
 * The response with its request's id as `X-Request-Id` (replacing one the
 * handler set, so that the header and the log agree). A response whose
 * headers cannot change (`Response.redirect()`, a `fetch()` result) is
 * copied first.
 *
 * @param response The response.
 * @param requestId The id.
 * @returns The response to send.
 *
 * @example
 * ```ts
 * withRequestId(new Response("hi"), "abc").headers.get("x-request-id"); // "abc"
 * ```
 */
export function withRequestId(response: Response, requestId: string): Response {
  try {
    response.headers.set(REQUEST_ID_HEADER, requestId);
    return response;
  } catch {
    // Immutable headers: copied below.
  }
  // A response that no init can copy (`Response.error()`) is left as it is.
  try {
    const copy = new Response(response.body, response);
    copy.headers.set(REQUEST_ID_HEADER, requestId);
    return copy;
  } catch {
    return response;
  }
}

/**
 * The response for a handler that threw: the server's `onError` when there
 * is one, else the one mapping of {@linkcode errorToResponse}, which logs
 * what is not an HTTP error and answers it with a bare 500.
 *
 * @param error What the handler threw.
 * @param context The `onError` hook and the logger.
 * @param what The request, for the log line.
 * @returns The response to send.
 */
export async function answerError(
  error: unknown,
  context: Pick<ExchangeContext, "onError" | "logger">,
  what: string,
): Promise<Response> {
  const report = (failure: unknown) => context.logger.error(`handler failed for ${what}`, failure);
  if (context.onError === undefined) return errorToResponse(error, report);
  try {
    const response = await context.onError(error);
    if (response instanceof Response) return response;
    throw new TypeError("onError did not return a Response");
  } catch (failure) {
    context.logger.error(`onError failed for ${what}`, failure);
    return errorResponse(500);
  }
}

/**
 * The {@linkcode ServeInfo} of one exchange. `completed` is made only when a
 * handler asks for it, and is marked handled so that a failure nobody awaits
 * is not reported as an unhandled rejection.
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

/**
 * Whether a peer is one of the trusted proxies (for `X-Request-Id`).
 *
 * @param trusted The trusted proxies, or null.
 * @returns The test, or undefined when no proxy is trusted.
 */
export function trustedPeer(
  trusted: CidrList | null,
): ((peer: Deno.NetAddr) => boolean) | undefined {
  return trusted === null ? undefined : (peer) => trusted.contains(peer.hostname);
}

/**
 * The client a request is for: the peer itself, or, when the peer is a
 * trusted proxy that says so in `Forwarded` or `X-Forwarded-For`, the
 * rightmost address that is not a trusted proxy (port 0: the fields seldom
 * carry one).
 *
 * @param head The request head, or null.
 * @param context The peer and the trusted proxies.
 * @returns The client's address.
 */
export function clientOf(
  head: RequestHead | null,
  context: Pick<ExchangeContext, "remoteAddr" | "trustProxy">,
): Deno.NetAddr {
  const trusted = context.trustProxy ?? null;
  const peer = context.remoteAddr;
  if (trusted === null || head === null) return peer;
  if (!head.has("forwarded") && !head.has("x-forwarded-for")) return peer;
  const { address } = forwardedClient(peer.hostname, head, trusted);
  if (address === normaliseAddress(peer.hostname)) return peer;
  return { transport: "tcp", hostname: address, port: 0 };
}

/**
 * The scheme a trusted proxy says the client used (`X-Forwarded-Proto`,
 * `Forwarded: proto=`), or null to keep the connection's own.
 *
 * @param head The request head.
 * @param context The peer and the trusted proxies.
 * @returns `http`, `https`, or null.
 */
export function forwardedScheme(
  head: RequestHead,
  context: Pick<ExchangeContext, "remoteAddr" | "trustProxy">,
): "http" | "https" | null {
  const trusted = context.trustProxy ?? null;
  if (trusted === null || !trusted.contains(context.remoteAddr.hostname)) return null;
  if (!head.has("forwarded") && !head.has("x-forwarded-proto")) return null;
  return forwardedClient(context.remoteAddr.hostname, head, trusted).proto;
}
