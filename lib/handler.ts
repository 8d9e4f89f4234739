/**
 * The types an application sees: a Fetch handler and what it learns about
 * the exchange besides the request. Nothing here depends on a protocol.
 *
 * @module
 */

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

/** A Fetch handler: the only thing the server knows about the application. */
export type Handler = (request: Request, info: ServeInfo) => Response | Promise<Response>;

/** Turns an error thrown by a handler into the response to send. */
export type ErrorHandler = (error: unknown) => Response | Promise<Response>;
