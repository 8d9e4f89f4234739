/**
 * The codecs: br, zstd and gzip from `node:zlib`, for bytes known in full and
 * for byte streams.
 *
 * In Deno 2.9 `node:zlib` compresses on the main thread: even the callback
 * forms (`gzip`, `brotliCompress`, `zstdCompress`) and the streaming
 * compressors hold the event loop until their input is done (no timer runs
 * meanwhile). Measured on 1 MiB of JavaScript: gzip 6 about 16 ms, zstd 3
 * about 4 ms, br 4 about 16 ms, br 11 about 1.6 s, zstd 19 about 0.6 s.
 * Hence "high" is for bytes compressed once and kept (files of the hot
 * cache, 64 KiB by default), never per request, and a stream is compressed
 * one written chunk at a time.
 *
 * @module
 */

import * as zlib from "node:zlib";
import { concat } from "../bytes.ts";
import type { Coding } from "./negotiate.ts";

/**
 * How hard to compress. `"high"` is for bytes compressed once and kept (br
 * quality 11, zstd level 19, gzip level 9); `"moderate"` is for bytes
 * compressed for each response (br quality 4, zstd level 3, gzip level 6).
 */
export type CompressionLevel = "high" | "moderate";

/**
 * The level of each coding. Moderate br is quality 4 because on 1 MiB of
 * JavaScript it costs what gzip 6 costs (about 16 ms each; quality 5 took
 * 24 ms, 6 took 30 ms) and still comes out smaller (23.1 % against 23.8 %).
 */
const LEVELS = {
  high: { br: 11, zstd: 19, gzip: 9 },
  moderate: { br: 4, zstd: 3, gzip: 6 },
} as const satisfies Record<CompressionLevel, Record<Coding, number>>;

/** What makes each compressor hand over all it holds without ending its stream. */
const FLUSH_KINDS = {
  br: zlib.constants.BROTLI_OPERATION_FLUSH,
  zstd: zlib.constants.ZSTD_e_flush,
  gzip: zlib.constants.Z_SYNC_FLUSH,
} as const satisfies Record<Coding, number>;

/** The options object for a compressor of `coding` at `level`. */
function _zlibOptions(
  coding: Coding,
  level: CompressionLevel,
  sizeHint?: number,
): zlib.ZlibOptions & zlib.BrotliOptions & zlib.ZstdOptions {
  const value = LEVELS[level][coding];
  const c = zlib.constants;
  switch (coding) {
    case "br": {
      const params: Record<number, number> = { [c.BROTLI_PARAM_QUALITY]: value };
      // Text mode suits what is compressed here; the size lets brotli size its window.
      params[c.BROTLI_PARAM_MODE] = c.BROTLI_MODE_TEXT;
      if (sizeHint !== undefined) params[c.BROTLI_PARAM_SIZE_HINT] = sizeHint;
      return { params };
    }
    case "zstd": {
      // Told the size, zstd sizes its window to it: on 64 KiB at level 19
      // that takes 8–15 ms instead of 300 ms.
      // (Node's option; Deno's type declarations do not list it.)
      const params = { [c.ZSTD_c_compressionLevel]: value };
      if (sizeHint === undefined) return { params };
      const sized: zlib.ZstdOptions & { pledgedSrcSize: number } = {
        params,
        pledgedSrcSize: sizeHint,
      };
      return sized;
    }
    case "gzip":
      return { level: value };
  }
}

/** A compressor of `coding`: a Node transform stream. */
type Compressor = zlib.Gzip | zlib.BrotliCompress | zlib.ZstdCompress;

function _createCompressor(coding: Coding, level: CompressionLevel): Compressor {
  const options = _zlibOptions(coding, level);
  switch (coding) {
    case "br":
      return zlib.createBrotliCompress(options);
    case "zstd":
      return zlib.createZstdCompress(options);
    case "gzip":
      return zlib.createGzip(options);
  }
}

/**
 * `bytes` as a Uint8Array of its own: a Buffer from `node:zlib` may be a view
 * into a larger (pooled) allocation, which must not leak through `.buffer`.
 */
function _own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer;
  return whole
    ? new Uint8Array(bytes.buffer as ArrayBuffer, 0, bytes.byteLength)
    : new Uint8Array(bytes);
}

/**
 * Compresses bytes known in full, with the callback forms of `node:zlib`.
 * (In Deno 2.9 these still run on the main thread; see the module notes.)
 *
 * @param coding The content coding to produce.
 * @param bytes The bytes to compress; not modified.
 * @param level How hard to compress.
 * @returns The complete encoded bytes (a gzip member, a brotli stream or a
 * zstd frame), which decode to exactly `bytes`.
 *
 * @example
 * ```ts
 * import { compressBytes } from "./compress.ts";
 * const text = new TextEncoder().encode("<p>hello</p>".repeat(100));
 * const gzipped = await compressBytes("gzip", text, "high");
 * console.log(gzipped.length < text.length); // true
 * ```
 */
export function compressBytes(
  coding: Coding,
  bytes: Uint8Array,
  level: CompressionLevel,
): Promise<Uint8Array> {
  const options = _zlibOptions(coding, level, bytes.length);
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: Uint8Array) => {
      if (error !== null) reject(error);
      else resolve(_own(result));
    };
    switch (coding) {
      case "br":
        return zlib.brotliCompress(bytes, options, done);
      case "zstd":
        return zlib.zstdCompress(bytes, options, done);
      case "gzip":
        return zlib.gzip(bytes, options, done);
    }
  });
}

/** Options for {@linkcode compressionStream}. */
export interface CompressionStreamOptions {
  /**
   * Flush the compressor after every written chunk, so that a reader
   * receives the output of each chunk before the next one is written (for
   * server-sent events and other live streams). Costs some ratio. Default false.
   */
  readonly flush?: boolean;
}

/**
 * A stream that compresses the bytes written to it, one chunk at a time.
 *
 * A chunk is taken only when the output of the one before has been handed to
 * the readable side and read (a TransformStream's backpressure), so memory is
 * bounded by one chunk and its output. With `flush` every chunk's output is
 * complete before the next chunk is taken: a reader can decode everything
 * written so far. Without it the compressor keeps what it has not yet
 * emitted until more input or the end. Aborting the writable side or
 * cancelling the readable side destroys the compressor.
 *
 * @param coding The content coding to produce.
 * @param level How hard to compress ("moderate" for per-response work).
 * @param options Whether to flush after every chunk.
 * @returns A TransformStream from plain bytes to encoded bytes.
 *
 * @example
 * ```ts
 * import { compressionStream } from "./compress.ts";
 * const events = ReadableStream.from(["data: 1\n\n", "data: 2\n\n"])
 *   .pipeThrough(new TextEncoderStream());
 * const body = events.pipeThrough(compressionStream("gzip", "moderate", { flush: true }));
 * const response = new Response(body, { headers: { "content-encoding": "gzip" } });
 * console.log(response.headers.get("content-encoding")); // "gzip"
 * ```
 */
export function compressionStream(
  coding: Coding,
  level: CompressionLevel,
  options: CompressionStreamOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream(new CompressingTransformer(coding, level, options.flush ?? false));
}

/** The transformer behind {@linkcode compressionStream}: one node:zlib compressor. */
class CompressingTransformer implements Transformer<Uint8Array, Uint8Array> {
  readonly #coding: Coding;
  readonly #level: CompressionLevel;
  readonly #flushEach: boolean;
  #compressor: Compressor | null = null;
  /** Output the compressor has emitted and the readable side has not been given yet. */
  #pending: Uint8Array[] = [];
  /** The error the compressor reported, if any: every later step fails with it. */
  #failure: Error | null = null;

  constructor(coding: Coding, level: CompressionLevel, flushEach: boolean) {
    this.#coding = coding;
    this.#level = level;
    this.#flushEach = flushEach;
  }

  start(): void {
    const z = _createCompressor(this.#coding, this.#level);
    this.#compressor = z;
    // The compressor emits its output while it works on a chunk, before the
    // chunk's (or the flush's) callback, so after each step `#pending` holds
    // all the step produced.
    z.on("data", (chunk: Uint8Array) => this.#pending.push(_own(chunk)));
    z.on("error", (error: Error) => {
      this.#failure = error;
    });
  }

  async transform(
    chunk: Uint8Array,
    controller: TransformStreamDefaultController<Uint8Array>,
  ): Promise<void> {
    if (chunk.length === 0) return;
    const z = this.#compressor!;
    await this.#settle((callback) => z.write(chunk, callback));
    if (this.#flushEach) {
      await this.#settle((callback) => z.flush(FLUSH_KINDS[this.#coding], () => callback()));
    }
    this.#handOver(controller);
  }

  async flush(controller: TransformStreamDefaultController<Uint8Array>): Promise<void> {
    const z = this.#compressor!;
    try {
      await new Promise<void>((resolve, reject) => {
        if (this.#failure !== null) return reject(this.#failure);
        z.once("end", resolve);
        z.once("error", reject);
        z.end();
      });
      this.#handOver(controller);
    } finally {
      this.#release();
    }
  }

  cancel(): void {
    this.#release();
  }

  /** Resolves when `step` calls back; rejects when the compressor fails meanwhile. */
  #settle(step: (callback: (error?: Error | null) => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#failure !== null) return reject(this.#failure);
      const z = this.#compressor!;
      const onError = (error: Error) => reject(error);
      z.once("error", onError);
      step((error) => {
        z.off("error", onError);
        if (error) reject(error);
        else if (this.#failure !== null) reject(this.#failure);
        else resolve();
      });
    });
  }

  /**
   * Hands what a step produced to the readable side as one chunk, so that a
   * flushed chunk arrives whole (one read, one chunk on the wire).
   */
  #handOver(controller: TransformStreamDefaultController<Uint8Array>): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    controller.enqueue(pending.length === 1 ? pending[0] : concat(pending));
  }

  #release(): void {
    this.#compressor?.removeAllListeners("data");
    this.#compressor?.destroy();
    this.#compressor = null;
    this.#pending = [];
  }
}
