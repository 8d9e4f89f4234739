/**
 * The server's errors and the one place they become responses: HTTP errors
 * carry a status and a fixed public phrase (never a path or a system error
 * text), {@linkcode errorToResponse} turns anything thrown into the answer,
 * and a {@linkcode UserError} is one line for the person running the program.
 *
 * @module
 */

import { errorResponse } from "./http/error_page.ts";
import { isBodylessStatus, statusText } from "./http/status.ts";

/**
 * An error that becomes a response with `status`. `message` is safe to show
 * to the client.
 *
 * @example
 * ```ts
 * throw new HttpError(413, "Request body is larger than the limit");
 * ```
 */
export class HttpError extends Error {
  /** The status code to answer with. */
  readonly status: number;
  /** Fields the response carries (`Retry-After`, `Allow`, ...). */
  readonly headers: HeadersInit | undefined;

  /**
   * @param status The status code to answer with.
   * @param message A public explanation; defaults to the reason phrase.
   * @param headers Fields the response carries.
   */
  constructor(status: number, message?: string, headers?: HeadersInit) {
    super(message ?? statusText(status));
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}

/**
 * A request that does not follow HTTP/1.1 syntax or framing rules. Like
 * `JSON.parse`, unparseable text throws a `SyntaxError`; this one also knows
 * its status (400, 408, 413, 414, 417, 431, 501 or 505).
 *
 * @example
 * ```ts
 * throw new ParseError(400, "Header field name is not a token");
 * ```
 */
export class ParseError extends SyntaxError {
  /** The status code to answer with. */
  readonly status: number;

  /**
   * @param status The status code to answer with.
   * @param message A public explanation of what was wrong.
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "ParseError";
    this.status = status;
  }
}

/**
 * A mistake the user can fix (a flag, the root, the application module), or a
 * failure to start: its message is one line meant for the user, printed as
 * `portico: message`, and the program ends with `exitCode`.
 *
 * @example
 * ```ts
 * throw new UserError("--port must be a number from 0 to 65535, not \"x\"");
 * ```
 */
export class UserError extends Error {
  /** The exit code: 2 for what the user can fix, 1 for any other failure. */
  readonly exitCode: number;

  /**
   * @param message What is wrong and what to do, on one line.
   * @param exitCode The exit code (default 2).
   */
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "UserError";
    this.exitCode = exitCode;
  }
}

/**
 * The one mapping from an error to the response that answers it: an
 * {@linkcode HttpError} or {@linkcode ParseError} becomes its status with its
 * public message (and the `HttpError`'s fields); anything else (a bug, a
 * system error) is reported through `report` and becomes a bare 500, so no
 * internal text ever reaches the client.
 *
 * @param error Anything thrown while answering a request.
 * @param report Called with an error that is not an HTTP error.
 * @returns The response to send.
 *
 * @example
 * ```ts
 * errorToResponse(new HttpError(503, undefined, { "retry-after": "1" }), console.error).status; // 503
 * ```
 */
export function errorToResponse(error: unknown, report: (error: unknown) => void): Response {
  if (error instanceof HttpError || error instanceof ParseError) {
    const status = error.status;
    if (status >= 200 && status <= 599) {
      const headers = error instanceof HttpError ? error.headers : undefined;
      if (isBodylessStatus(status)) return new Response(null, { status, headers });
      return errorResponse(status, status === 500 ? undefined : error.message, headers);
    }
  }
  report(error);
  return errorResponse(500);
}

/**
 * Whether an error only means that the peer went away.
 *
 * @param error Anything thrown by a connection's read or write.
 * @returns True for resets, broken pipes, early ends and closed resources.
 */
export function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted;
}
