/**
 * Option types and their defaults. Every limit the server enforces is named
 * here with its default, so the CLI, the library and the documentation agree.
 *
 * @module
 */

import denoJson from "../deno.json" with { type: "json" };

/**
 * Every bound the server puts on what a client may send or hold, and on how
 * long it waits. The defaults are documented in the README ("Limits and
 * security") and each has a command-line flag.
 */
export interface Limits {
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
  /** Time allowed to receive a whole request head, from its first byte; longer → 408 and close. */
  headerTimeoutMs: number;
  /** Time a connection may wait for the first byte of its next request before it is closed. */
  idleTimeoutMs: number;
  /**
   * Longest a request body being read, or a response being written, may go
   * without a single byte of progress; then the connection closes.
   */
  bodyTimeoutMs: number;
  /**
   * Most connections served at once; further clients wait in the listen
   * backlog until one closes.
   */
  maxConnections: number;
  /** Most requests on one connection, after which it closes; 0 for no limit. */
  maxRequestsPerConnection: number;
  /**
   * On shutdown, how long requests in progress may take to finish before
   * their connections are closed.
   */
  shutdownTimeoutMs: number;
}

/**
 * How the server spends its own memory on speed: the hot-file cache and the
 * buffers large files are sent through. Unlike {@linkcode Limits}, nothing
 * here bounds what a client may do.
 */
export interface Tuning {
  /**
   * Most bytes of small files kept in memory by the hot-file cache (the
   * least recently used go first); 0 for no cache.
   */
  cacheBytes: number;
  /** Largest file the cache keeps. */
  cacheFileBytes: number;
  /** Size of each reused buffer that large files are sent through. */
  fileBufferBytes: number;
  /**
   * Most such buffers at once; a download that finds them all in use sends
   * its next chunk through a 64 KiB buffer of its own instead of waiting.
   */
  fileBuffers: number;
}

/** The default limits (documented in README "Limits and security"). */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxTargetBytes: 8 * 1024,
  maxHeadBytes: 32 * 1024,
  maxHeaderFields: 100,
  maxBodyBytes: 10 * 1024 * 1024,
  maxDrainBytes: 256 * 1024,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 5_000,
  bodyTimeoutMs: 30_000,
  maxConnections: 10_000,
  maxRequestsPerConnection: 0,
  shutdownTimeoutMs: 10_000,
});

/** The default tuning (documented in README "Performance"). */
export const DEFAULT_TUNING: Readonly<Tuning> = Object.freeze({
  cacheBytes: 64 * 1024 * 1024,
  cacheFileBytes: 64 * 1024,
  fileBufferBytes: 1024 * 1024,
  fileBuffers: 32,
});

/** The product's name, sent in the `Server` header and printed by `--version`. */
export const SERVER_NAME = "portico";

/** The product's version, from `deno.json`. */
export const VERSION: string = denoJson.version;

/** Default port when neither `--port` nor `PORT` is given. */
export const DEFAULT_PORT = 8000;

/** Default listening address: every IPv4 interface. */
export const DEFAULT_HOST = "0.0.0.0";

/** Default document root, resolved against the working directory. */
export const DEFAULT_ROOT = "www";
