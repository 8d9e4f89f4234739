/**
 * Error types that carry an HTTP status. The connection loop maps them to
 * responses in one place; their `message` is a fixed public phrase, never a
 * path or a system error text.
 *
 * @module
 */

import { statusText } from "./http/status.ts";

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

  /**
   * @param status The status code to answer with.
   * @param message A public explanation; defaults to the reason phrase.
   */
  constructor(status: number, message?: string) {
    super(message ?? statusText(status));
    this.name = "HttpError";
    this.status = status;
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
 * The status that an error stands for: its own for {@linkcode HttpError} and
 * {@linkcode ParseError}, 500 for anything else.
 *
 * @param error Anything thrown.
 * @returns The status code.
 */
export function errorStatus(error: unknown): number {
  return error instanceof HttpError || error instanceof ParseError ? error.status : 500;
}
