/**
 * Shared test helpers: a server on a free loopback port, and a raw client that
 * writes bytes and parses responses itself (so tests see exactly what the
 * server sent, framing included).
 *
 * @module
 */

import type { Limits, Tuning } from "../lib/config.ts";
import type { Handler, ServeInfo } from "../lib/handler.ts";
import { fromFileUrl } from "./_deps.ts";
import { concat } from "./_bytes.ts";

export { concat };
import { type Logger, silentLogger } from "../lib/log.ts";
import { listen, type Server } from "../lib/server.ts";
import { site } from "../lib/gateway.ts";

/** The repository's default site. */
export const WWW = fromFileUrl(new URL("../www", import.meta.url));

/** Options for {@linkcode withServer}. */
export interface TestServerOptions {
  handler?: Handler;
  root?: string;
  limits?: Partial<Limits>;
  tuning?: Partial<Tuning>;
  logger?: Logger;
}

/**
 * Runs `fn` against a server on 127.0.0.1 with an OS-chosen port, then stops
 * it. Without a handler it serves `root` (default `www/`) with its cache.
 */
export async function withServer(
  fn: (port: number, server: Server) => Promise<void>,
  options: TestServerOptions = {},
): Promise<void> {
  // Files alone are served as main.ts serves them: cached files by the shortcut.
  const served = options.handler === undefined ? site(null, options.root ?? WWW, {}) : null;
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    handler: options.handler ?? served!.handler,
    shortcut: served?.shortcut,
    limits: options.limits,
    tuning: options.tuning,
    logger: options.logger ?? silentLogger,
  });
  try {
    await fn(server.addr.port, server);
  } finally {
    await server.shutdown();
  }
}

/** A response as the raw client parsed it. */
export interface RawResponse {
  status: number;
  reason: string;
  headers: Headers;
  /** Field names in the order sent, lower-cased. */
  fieldNames: string[];
  body: Uint8Array;
  text: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * How long a test read waits for the server's next bytes before it fails.
 * Only a safety net that turns a hang into a failure: generous, so that a
 * loaded machine never reaches it.
 */
export const READ_TIMEOUT_MS = 10_000;

/**
 * How long {@linkcode RawClient.closedByServer} waits for the close unless
 * told: ample for a close that follows a response, and half the default
 * idle timeout, so that a connection the server kept open (and would close
 * only when idle) is reported as open rather than as closed.
 */
export const CLOSE_TIMEOUT_MS = 2_500;

/** Why {@linkcode deadline} gave up, so that callers can tell a timeout from a failed read. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
}

/**
 * Settles like `promise`, or rejects with an Error saying `message` once `ms`
 * have passed. The promise left behind is marked handled, so a late failure
 * (a read on a socket closed meanwhile) does not fail the test run.
 *
 * @param promise What to wait for.
 * @param ms How long to wait.
 * @param message The error message on timeout, such as "no response within 10000 ms".
 * @returns The promise's value.
 */
export async function deadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(message)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long {@linkcode until} polls unless told: generous, only a safety net. */
export const POLL_LIMIT_MS = 5000;
/** How often {@linkcode until} looks again. */
const POLL_INTERVAL_MS = 5;

/**
 * Polls `probe` until it returns something other than null, undefined or
 * false, and returns that; fails after `limitMs`. A probe may throw to give
 * up early.
 *
 * @param what What is awaited, for the failure message.
 * @param probe Looks once.
 * @param limitMs How long to keep looking.
 * @returns What the probe found.
 */
export async function until<T>(
  what: string,
  probe: () => T | null | undefined | false,
  limitMs: number = POLL_LIMIT_MS,
): Promise<T> {
  const deadline = performance.now() + limitMs;
  while (true) {
    const value = probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/**
 * `promise`'s value, or null when it has not settled within `ms`.
 *
 * @param promise What to wait for.
 * @param ms How long to wait.
 * @returns Its value, or null when it came too late.
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), ms));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One `conn.read(buffer)` that fails with "no response within `ms` ms" when
 * no byte (nor the end) arrives in time. After it fails, the read is still
 * pending: close the connection rather than read it again.
 */
export function readWithin(
  conn: Deno.Conn,
  buffer: Uint8Array,
  ms = READ_TIMEOUT_MS,
): Promise<number | null> {
  return deadline(conn.read(buffer), ms, `no response within ${ms} ms`);
}

/** Options for {@linkcode RawClient.connect}. */
export interface RawClientOptions {
  /** How long each read waits for the server's next bytes; default {@linkcode READ_TIMEOUT_MS}. */
  readTimeoutMs?: number;
}

/**
 * A client that talks HTTP/1.1 by hand over one connection. Every wait on
 * the server has a deadline, so a server that never answers or never
 * closes fails the test instead of hanging it.
 */
export class RawClient {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(0);
  #eof = false;
  #readTimeoutMs: number;
  /** The socket read under way, kept when a wait gives up on it so that no byte is lost. */
  #reading: Promise<Uint8Array | null> | null = null;

  private constructor(conn: Deno.TcpConn, readTimeoutMs: number) {
    this.#conn = conn;
    this.#readTimeoutMs = readTimeoutMs;
  }

  /** Connects to 127.0.0.1:port. */
  static async connect(port: number, options: RawClientOptions = {}): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    return new RawClient(conn, options.readTimeoutMs ?? READ_TIMEOUT_MS);
  }

  /** Sends bytes (a string is sent as Latin-1, so tests can send any byte). */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? latin1(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  /** Closes the sending side. */
  async closeWrite(): Promise<void> {
    await this.#conn.closeWrite();
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  /** The next bytes from the socket, or null at its end (an orderly close or a reset). */
  #readSocket(): Promise<Uint8Array | null> {
    this.#reading ??= (async () => {
      const chunk = new Uint8Array(64 * 1024);
      try {
        const n = await this.#conn.read(chunk);
        return n === null ? null : chunk.subarray(0, n);
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) return null;
        throw error;
      }
    })();
    return this.#reading;
  }

  /**
   * Waits up to `ms` for more bytes; false at the end of the stream.
   *
   * @throws {DeadlineError} When neither bytes nor the end arrive in time.
   */
  async #fill(ms = this.#readTimeoutMs): Promise<boolean> {
    if (this.#eof) return false;
    let chunk: Uint8Array | null;
    try {
      chunk = await deadline(this.#readSocket(), ms, `no response within ${ms} ms`);
    } catch (error) {
      // A read given up on is still under way: the next wait takes it over.
      if (!(error instanceof DeadlineError)) this.#reading = null;
      throw error;
    }
    this.#reading = null;
    if (chunk === null) {
      this.#eof = true;
      return false;
    }
    const next = new Uint8Array(this.#buf.length + chunk.length);
    next.set(this.#buf);
    next.set(chunk, this.#buf.length);
    this.#buf = next;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  async #line(): Promise<string> {
    while (true) {
      const i = this.#buf.indexOf(0x0a);
      if (i !== -1) {
        const line = decoder.decode(this.#take(i + 1));
        return line.replace(/\r\n$/, "");
      }
      if (!await this.#fill()) throw new Error("connection closed in the middle of a line");
    }
  }

  /**
   * Reads one response. `bodyless` is for answers to HEAD (and is implied for
   * 1xx, 204 and 304). Fails when the server sends nothing for the client's
   * read timeout (10 s unless set at connect).
   */
  async read(bodyless = false): Promise<RawResponse> {
    const statusLine = await this.#line();
    const match = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(statusLine);
    if (match === null) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
    const status = Number(match[1]);
    const headers = new Headers();
    const fieldNames: string[] = [];
    while (true) {
      const line = await this.#line();
      if (line === "") break;
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      fieldNames.push(name);
      headers.append(name, line.slice(colon + 1).trim());
    }
    let body: Uint8Array = new Uint8Array(0);
    if (!bodyless && status >= 200 && status !== 204 && status !== 304) {
      const length = headers.get("content-length");
      if (headers.get("transfer-encoding") === "chunked") {
        body = await this.#chunked();
      } else if (length !== null) {
        const n = Number(length);
        while (this.#buf.length < n) {
          if (!await this.#fill()) throw new Error("connection closed in the middle of a body");
        }
        body = this.#take(n);
      } else {
        while (await this.#fill()) {
          // Close-delimited: read to the end.
        }
        body = this.#take(this.#buf.length);
      }
    }
    return {
      status,
      reason: match[2],
      headers,
      fieldNames,
      body,
      text: decoder.decode(body),
    };
  }

  async #chunked(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    while (true) {
      const size = parseInt(await this.#line(), 16);
      if (size === 0) {
        while (await this.#line() !== "") {
          // Trailer fields.
        }
        break;
      }
      while (this.#buf.length < size + 2) {
        if (!await this.#fill()) throw new Error("connection closed in the middle of a chunk");
      }
      parts.push(this.#take(size));
      this.#take(2);
    }
    return concat(parts);
  }

  /**
   * Waits up to `withinMs` for the server to close the connection.
   *
   * @param withinMs How long to wait; short when the test expects the
   * connection to stay open, generous when it expects a close.
   * @returns true when the server closed it (an orderly close or a reset);
   * false when it is still open after `withinMs`. The client stays usable
   * after false.
   * @throws {Error} When the server sends any byte meanwhile (nothing may
   * follow the last response).
   */
  async closedByServer(withinMs: number = CLOSE_TIMEOUT_MS): Promise<boolean> {
    const end = performance.now() + withinMs;
    try {
      while (this.#buf.length === 0) {
        const left = end - performance.now();
        if (left <= 0 || !await this.#fill(left)) break;
      }
    } catch (error) {
      if (!(error instanceof DeadlineError)) throw error;
    }
    if (this.#buf.length > 0) {
      throw new Error(`unexpected bytes after the response: ${decoder.decode(this.#buf)}`);
    }
    return this.#eof;
  }

  /** Bytes received and not yet parsed. */
  get pending(): number {
    return this.#buf.length;
  }
}

/** Sends one raw request on a new connection and reads one response. */
export async function exchange(
  port: number,
  request: string | Uint8Array,
  bodyless = false,
): Promise<RawResponse> {
  const client = await RawClient.connect(port);
  try {
    await client.send(request);
    return await client.read(bodyless);
  } finally {
    client.close();
  }
}

/** Text as Latin-1 bytes (each code unit one byte). */
export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** The `ServeInfo` of a request from 127.0.0.1 for `rawPath`, for calling handlers without a socket. */
export function testInfo(rawPath = "/"): ServeInfo {
  return {
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
    rawPath,
    completed: Promise.resolve(),
  };
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A logger that keeps what it is told, for assertions. */
export function recordingLogger(): Logger & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    access: (e) =>
      lines.push(
        `${e.method} ${e.target} ${e.status} ${e.bytes}${e.incomplete ? " incomplete" : ""}`,
      ),
    error: (message) => errors.push(message),
  };
}
