/**
 * Buffered reads over a connection. One buffer per connection holds what the
 * client has sent and we have not consumed yet; bytes that follow a request
 * (the next pipelined request, say) stay in it for the next read.
 *
 * @module
 */

import { ParseError } from "../errors.ts";
import { buildRequestHead, type HeadScanner, type RequestHead } from "./parse.ts";

/** The one method of a connection this module needs. */
export interface ByteSource {
  /** Reads into `p`; resolves to the byte count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

const INITIAL_SIZE = 16 * 1024;
const LF = 0x0a;
const CR = 0x0d;

/**
 * A read buffer over a {@linkcode ByteSource}.
 *
 * @example
 * ```ts
 * const reader = new BufferedReader(conn);
 * const head = await reader.readHead(new HeadScanner(DEFAULT_LIMITS));
 * ```
 */
export class BufferedReader {
  #source: ByteSource;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #eof = false;
  #filling: Promise<boolean> | null = null;

  /**
   * @param source Where bytes come from.
   * @param initialSize The buffer's starting size; it grows only to hold a large head.
   */
  constructor(source: ByteSource, initialSize: number = INITIAL_SIZE) {
    this.#source = source;
    this.#buf = new Uint8Array(initialSize);
  }

  /** How many bytes are buffered and not yet consumed. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Reads more bytes from the source into the buffer, making room by moving
   * unconsumed bytes to the front or, when they fill it, by growing it up to
   * `maxBuffered` bytes. A call made while a read is already under way waits
   * for that read instead of starting another.
   *
   * @returns False at end of stream.
   * @throws {ParseError} 431 when `maxBuffered` unconsumed bytes fill the buffer.
   */
  fill(maxBuffered: number = INITIAL_SIZE): Promise<boolean> {
    if (this.#filling !== null) return this.#filling;
    if (this.#eof) return Promise.resolve(false);
    const filling = this.#fill(maxBuffered);
    this.#filling = filling;
    const clear = () => {
      this.#filling = null;
    };
    filling.then(clear, clear);
    return filling;
  }

  async #fill(maxBuffered: number): Promise<boolean> {
    if (this.#end === this.#buf.length) {
      const pending = this.#end - this.#start;
      if (pending === this.#buf.length) {
        if (pending >= maxBuffered) throw new ParseError(431, "Header section is too large");
        const grown = new Uint8Array(Math.min(this.#buf.length * 2, maxBuffered));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = pending;
    } else if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    }
    const n = await this.#source.read(this.#buf.subarray(this.#end));
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  /** True when unconsumed bytes fill the whole buffer, so nothing more can be read into it. */
  get full(): boolean {
    return this.#start === 0 && this.#end === this.#buf.length;
  }

  /**
   * Reads ahead into the buffer's free space (sharing a read already under
   * way) to learn whether the peer has closed its side. What arrives stays
   * buffered for whoever consumes it next; the buffer never grows. Never
   * rejects.
   *
   * @returns True when the stream has ended or failed; false when bytes
   * arrived or the buffer is {@linkcode BufferedReader.full}.
   */
  async ended(): Promise<boolean> {
    if (this.#eof) return true;
    if (this.#filling === null && this.full) return false;
    try {
      return !await this.fill(this.#buf.length);
    } catch {
      return true;
    }
  }

  /**
   * Reads the next request head, feeding the scanner as bytes arrive.
   *
   * @param scanner The connection's scanner (reset here).
   * @param maxHeadBytes The head limit; the buffer never grows much past it.
   * @returns The head, or null when the client closed the connection cleanly
   * between requests.
   * @throws {ParseError} For an invalid head, or one cut short by the client.
   */
  async readHead(scanner: HeadScanner, maxHeadBytes: number): Promise<RequestHead | null> {
    scanner.reset();
    // Leading empty lines and the head itself each stay within the limit.
    const maxBuffered = 2 * maxHeadBytes + 1024;
    while (true) {
      if (this.#end > this.#start) {
        const length = scanner.scan(this.#buf, this.#start, this.#end - this.#start);
        if (length !== -1) {
          const head = buildRequestHead(this.#buf, this.#start, scanner);
          this.#start += length;
          return head;
        }
      }
      if (!await this.fill(maxBuffered)) {
        if (!scanner.started) return null;
        throw new ParseError(400, "Incomplete request");
      }
    }
  }

  /**
   * The next request head when the buffer already holds all of it, parsed
   * without waiting; undefined (nothing consumed) when more bytes are needed.
   *
   * @param scanner The connection's scanner (reset here).
   * @throws {ParseError} For an invalid head.
   */
  bufferedHead(scanner: HeadScanner): RequestHead | undefined {
    scanner.reset();
    if (this.#end === this.#start) return undefined;
    const length = scanner.scan(this.#buf, this.#start, this.#end - this.#start);
    if (length === -1) return undefined;
    const head = buildRequestHead(this.#buf, this.#start, scanner);
    this.#start += length;
    return head;
  }

  /**
   * Takes up to `max` buffered bytes as a copy, reading first when nothing is
   * buffered.
   *
   * @returns The bytes, or null at end of stream.
   */
  async take(max: number): Promise<Uint8Array | null> {
    if (this.#start === this.#end && !await this.fill()) return null;
    const n = Math.min(max, this.#end - this.#start);
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /**
   * Drops up to `max` bytes, reading first when nothing is buffered.
   *
   * @returns How many bytes were dropped, or null at end of stream.
   */
  async skip(max: number): Promise<number | null> {
    if (this.#start === this.#end && !await this.fill()) return null;
    const n = Math.min(max, this.#end - this.#start);
    this.#start += n;
    return n;
  }

  /**
   * Reads one CRLF-terminated line and returns its text without the CRLF.
   *
   * @param maxLength The longest line accepted, CRLF included.
   * @throws {ParseError} 400 for a longer line, a bare LF, or end of stream.
   */
  async readLine(maxLength: number): Promise<string> {
    let scanned = 0;
    while (true) {
      const lf = this.#buf.subarray(this.#start + scanned, this.#end).indexOf(LF);
      if (lf !== -1) {
        const end = this.#start + scanned + lf;
        if (end - this.#start + 1 > maxLength) throw new ParseError(400, "Line is too long");
        if (end === this.#start || this.#buf[end - 1] !== CR) {
          throw new ParseError(400, "Line does not end in CRLF");
        }
        let line = "";
        for (let i = this.#start; i < end - 1; i++) line += String.fromCharCode(this.#buf[i]);
        this.#start = end + 1;
        return line;
      }
      scanned = this.#end - this.#start;
      if (scanned >= maxLength) throw new ParseError(400, "Line is too long");
      if (!await this.fill(maxLength + 1)) throw new ParseError(400, "Incomplete body");
    }
  }
}
