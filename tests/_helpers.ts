/**
 * Shared test helpers: a server on a free loopback port, and a raw client that
 * writes bytes and parses responses itself (so tests see exactly what the
 * server sent, framing included).
 *
 * @module
 */

import type { Limits } from "../lib/config.ts";
import type { Handler, ServeInfo } from "../lib/connection.ts";
import { fromFileUrl } from "./_deps.ts";
import { type Logger, silentLogger } from "../lib/log.ts";
import { listen, type Server } from "../lib/server.ts";
import { staticSite } from "../lib/static/handler.ts";

/** The repository's default site. */
export const WWW = fromFileUrl(new URL("../www", import.meta.url));

/** Options for {@linkcode withServer}. */
export interface TestServerOptions {
  handler?: Handler;
  root?: string;
  limits?: Partial<Limits>;
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
  const site = options.handler === undefined ? staticSite(options.root ?? WWW) : null;
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    handler: options.handler ?? site!.handler,
    shortcut: site?.shortcut,
    limits: options.limits,
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

/** A client that talks HTTP/1.1 by hand over one connection. */
export class RawClient {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(0);
  #eof = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connects to 127.0.0.1:port. */
  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
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

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.#conn.read(chunk);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) n = null;
      else throw error;
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
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
   * 1xx, 204 and 304).
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

  /** Whether the server has closed the connection (reads to the end; fails on extra bytes). */
  async closedByServer(): Promise<boolean> {
    while (await this.#fill()) {
      // Drain.
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

/** The bytes of `parts`, one after another. */
export function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
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
