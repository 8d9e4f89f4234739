/**
 * Request body decoding: fixed Content-Length and chunked transfer coding
 * (RFC 9112 §6 and §7.1), read from the connection only as the consumer asks
 * for bytes, with a size limit.
 *
 * @module
 */

import { HttpError, ParseError } from "../errors.ts";
import type { BodyFraming } from "./parse.ts";
import type { BufferedReader } from "./reader.ts";

/** Longest chunk-size line (size, extensions and CRLF) accepted. */
export const MAX_CHUNK_LINE_BYTES = 4096;
/** Largest trailer section accepted after the last chunk. */
export const MAX_TRAILER_BYTES = 16 * 1024;
/** Largest piece handed to the consumer at once. */
const MAX_PIECE = 64 * 1024;

/** Options for {@linkcode BodyReader}. */
export interface BodyReaderOptions {
  /** Largest body in bytes; more → {@linkcode HttpError} 413. */
  maxBodyBytes: number;
  /** Called once, before the first byte is read (to send `100 Continue`). */
  onFirstRead?: () => Promise<void>;
  /**
   * Called once when the body has been read to its end (with null) or has
   * failed (with the error): too large, malformed, or the client gone.
   */
  onEnd?: (error: unknown) => void;
  /**
   * Told when each read or discard starts and stops waiting on the
   * connection, so a progress deadline covers exactly those waits.
   */
  waits?: { begin(): void; end(): void };
}

const DETACHED = "The request body is no longer available: the response has been sent";

const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]{1,15})[ \t]*(;[\t\x20-\x7e\x80-\xff]*)?$/;

/**
 * Reads one request body from the connection's buffer.
 *
 * @example
 * ```ts
 * const body = new BodyReader(reader, head.framing, { maxBodyBytes: 1 << 20 });
 * for (let piece = await body.read(); piece; piece = await body.read()) use(piece);
 * ```
 */
export class BodyReader {
  #reader: BufferedReader;
  #chunked: boolean;
  #remaining: number; // bytes left in the body (fixed) or in the current chunk
  #options: BodyReaderOptions;
  #done: boolean;
  #started = false;
  #received = 0;
  #failure: unknown = null;
  #detached = false;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * @param reader The connection's reader, positioned at the body's first byte.
   * @param framing How the body is delimited.
   * @param options The size limit and the first-read hook.
   */
  constructor(reader: BufferedReader, framing: BodyFraming, options: BodyReaderOptions) {
    this.#reader = reader;
    this.#options = options;
    this.#chunked = framing.kind === "chunked";
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.#done = framing.kind === "none";
  }

  /** True once the whole body (and any trailer) has been read. */
  get done(): boolean {
    return this.#done;
  }

  /** True once reading has begun. */
  get started(): boolean {
    return this.#started;
  }

  /** Body bytes read so far. */
  get received(): number {
    return this.#received;
  }

  /** Why reading failed, or null. */
  get failure(): unknown {
    return this.#failure;
  }

  /**
   * Bytes still to come, when the framing tells (a fixed length); -1 for a
   * chunked body that is not done.
   */
  get remaining(): number {
    if (this.#done) return 0;
    return this.#chunked ? -1 : this.#remaining;
  }

  /**
   * Reads the next piece of the body. Reads and discards run one at a time,
   * in the order they were asked for, so a read still running in a handler
   * and the server's own discard never take the same bytes.
   *
   * @returns Bytes, or null at the end of the body.
   * @throws {HttpError} 413 past the limit.
   * @throws {ParseError} 400 for malformed chunked framing or a body cut short.
   */
  read(): Promise<Uint8Array | null> {
    return this.#serialize(() => this.#read());
  }

  async #read(): Promise<Uint8Array | null> {
    if (this.#failure !== null) throw this.#failure;
    if (this.#done) return null;
    try {
      // A declared length over the limit is refused from the header alone, as
      // discard() does: no 100 Continue, no body byte read.
      if (!this.#chunked && this.#received + this.#remaining > this.#options.maxBodyBytes) {
        throw new HttpError(413, "Request body is larger than the limit");
      }
      if (!this.#started) {
        this.#started = true;
        await this.#options.onFirstRead?.();
      }
      if (this.#chunked && this.#remaining === 0) {
        await this.#nextChunk();
        if (this.#done) return null;
      }
      const piece = await this.#reader.take(Math.min(this.#remaining, MAX_PIECE));
      if (piece === null) throw new ParseError(400, "Incomplete body");
      this.#remaining -= piece.length;
      this.#count(piece.length);
      if (this.#remaining === 0) {
        if (this.#chunked) await this.#endOfChunkData();
        else this.#finish();
      }
      return piece;
    } catch (error) {
      this.#fail(error);
      throw error;
    }
  }

  /**
   * Reads and drops the rest of the body, or as much of it as `maxBytes`
   * allows, after any read already asked for.
   *
   * @param maxBytes The most bytes to drop (the size limit still applies).
   * @returns True when the body is done; false when more than `maxBytes` remained.
   * @throws The same errors as {@linkcode BodyReader.read}.
   */
  discard(maxBytes: number = Infinity): Promise<boolean> {
    return this.#serialize(() => this.#discard(maxBytes));
  }

  async #discard(maxBytes: number): Promise<boolean> {
    if (this.#failure !== null) throw this.#failure;
    if (this.#done) return true;
    const limit = this.#received + maxBytes;
    if (!this.#chunked) {
      // A fixed body is dropped without copying it.
      if (this.#received + this.#remaining > this.#options.maxBodyBytes) {
        const error = new HttpError(413, "Request body is larger than the limit");
        this.#fail(error);
        throw error;
      }
      if (this.#received + this.#remaining > limit) return false;
      if (!this.#started) {
        this.#started = true;
        await this.#options.onFirstRead?.();
      }
      while (this.#remaining > 0) {
        let n: number | null;
        try {
          n = await this.#reader.skip(this.#remaining);
          if (n === null) throw new ParseError(400, "Incomplete body");
        } catch (error) {
          this.#fail(error);
          throw error;
        }
        this.#remaining -= n;
        this.#received += n;
      }
      this.#finish();
      return true;
    }
    while (this.#received <= limit) {
      if (await this.#read() === null) return true;
    }
    return false;
  }

  /**
   * Ends the consumer's access: the stream errors from now on, even for a
   * read already under way (its bytes still count, so a later discard goes
   * on from the right place). Called once the response has been sent.
   */
  detach(): void {
    this.#detached = true;
  }

  #serialize<T>(operation: () => Promise<T>): Promise<T> {
    const waits = this.#options.waits;
    const run = waits === undefined ? operation : async () => {
      waits.begin();
      try {
        return await operation();
      } finally {
        waits.end();
      }
    };
    const result = this.#queue.then(run);
    this.#queue = result.catch(() => {});
    return result;
  }

  /**
   * The body as a byte stream that reads from the connection only when the
   * consumer pulls. Once {@linkcode BodyReader.detach}ed, it errors rather
   * than hand out bytes (other than a clean end of a finished body).
   */
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (this.#detached && !this.#done) throw new TypeError(DETACHED);
        const piece = await this.read();
        if (piece === null) controller.close();
        else if (this.#detached) throw new TypeError(DETACHED);
        else controller.enqueue(piece);
      },
    }, { highWaterMark: 0 });
  }

  #finish(): void {
    this.#done = true;
    this.#options.onEnd?.(null);
  }

  #fail(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.#options.onEnd?.(error);
  }

  #count(n: number): void {
    this.#received += n;
    if (this.#received > this.#options.maxBodyBytes) {
      throw new HttpError(413, "Request body is larger than the limit");
    }
  }

  async #nextChunk(): Promise<void> {
    const line = await this.#reader.readLine(MAX_CHUNK_LINE_BYTES);
    const match = CHUNK_SIZE_LINE.exec(line);
    if (match === null) throw new ParseError(400, "Malformed chunk size");
    const size = parseInt(match[1], 16);
    if (size === 0) {
      await this.#skipTrailer();
      this.#finish();
      return;
    }
    if (this.#received + size > this.#options.maxBodyBytes) {
      throw new HttpError(413, "Request body is larger than the limit");
    }
    this.#remaining = size;
  }

  async #endOfChunkData(): Promise<void> {
    const line = await this.#reader.readLine(2);
    if (line !== "") throw new ParseError(400, "Chunk data is longer than its size");
  }

  /** Reads and drops trailer fields (RFC 9112 §7.1.2) up to the empty line. */
  async #skipTrailer(): Promise<void> {
    let total = 0;
    while (true) {
      const line = await this.#reader.readLine(MAX_TRAILER_BYTES);
      if (line === "") return;
      total += line.length + 2;
      if (total > MAX_TRAILER_BYTES) throw new ParseError(400, "Trailer section is too large");
      if (!TRAILER_FIELD.test(line)) throw new ParseError(400, "Malformed trailer field");
    }
  }
}

const TRAILER_FIELD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/;
