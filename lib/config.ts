/**
 * Option types and their defaults. Every limit the server enforces is named
 * here with its default, so the CLI, the library and the documentation agree.
 *
 * @module
 */

/** Limits on what a client may send in one request. */
export interface RequestLimits {
  /** Longest request-target in bytes; longer → 414. */
  maxTargetBytes: number;
  /** Largest header section (request line and fields) in bytes; larger → 431. */
  maxHeadBytes: number;
  /** Most header fields in one request; more → 431. */
  maxHeaderFields: number;
  /** Largest request body in bytes; larger → 413 and the connection closes. */
  maxBodyBytes: number;
  /**
   * Most unread request-body bytes read and dropped after a response so the
   * connection can carry the next request; with more left, it closes instead.
   */
  maxDrainBytes: number;
  /** Time allowed to receive a whole request head; longer → 408 and close. */
  headerTimeoutMs: number;
  /** Time a connection may wait for the first byte of its next request before it is closed. */
  idleTimeoutMs: number;
}

/** Default request limits (documented in README "Limits"). */
export const DEFAULT_LIMITS: Readonly<RequestLimits> = Object.freeze({
  maxTargetBytes: 8 * 1024,
  maxHeadBytes: 32 * 1024,
  maxHeaderFields: 100,
  maxBodyBytes: 10 * 1024 * 1024,
  maxDrainBytes: 256 * 1024,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 5_000,
});

/** The product's name, sent in the `Server` header and printed by `--version`. */
export const SERVER_NAME = "portico";

/** Default port when neither `--port` nor `PORT` is given. */
export const DEFAULT_PORT = 8000;

/** Default listening address: every IPv4 interface. */
export const DEFAULT_HOST = "0.0.0.0";

/** Default document root, resolved against the working directory. */
export const DEFAULT_ROOT = "www";
