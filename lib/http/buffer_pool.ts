/**
 * A bounded pool of large, reused buffers for copying file bodies to
 * connections. A buffer is held only while one chunk is read and written, so
 * a few buffers serve many downloads; when they are all out, a small
 * buffer is made for that one chunk instead of waiting, so a client that
 * stops reading cannot starve the others.
 *
 * @module
 */

/** The smallest buffer a pool lends. */
export const MIN_BUFFER_BYTES = 256;

/**
 * Room a pooled buffer has beyond `--file-buffer`, for the response head
 * that goes out with the first chunk: a body of exactly `--file-buffer`
 * bytes is then read once and written once, head included.
 */
export const HEAD_ROOM_BYTES = 4 * 1024;

/** Size of the buffer lent when every pooled buffer is out. */
export const OVERFLOW_BUFFER_BYTES = 64 * 1024;

/**
 * Lends buffers of one size, keeping at most `maxBuffers` of them.
 *
 * @example
 * ```ts
 * const pool = new BufferPool(256 * 1024, 64);
 * const buffer = pool.acquire();
 * try {
 *   // read into buffer, write it out
 * } finally {
 *   pool.release(buffer);
 * }
 * ```
 */
export class BufferPool {
  /** Size of each pooled buffer in bytes. */
  readonly bufferBytes: number;
  /** Most pooled buffers that ever exist at once. */
  readonly maxBuffers: number;
  #free: Uint8Array[] = [];
  #created = 0;

  /**
   * @param bufferBytes Size of each pooled buffer.
   * @param maxBuffers Most pooled buffers; 0 lends only small overflow buffers.
   */
  constructor(bufferBytes: number, maxBuffers: number) {
    if (!(bufferBytes >= MIN_BUFFER_BYTES)) {
      throw new RangeError(`File buffers must be at least ${MIN_BUFFER_BYTES} bytes`);
    }
    this.bufferBytes = bufferBytes;
    this.maxBuffers = maxBuffers;
  }

  /** How many pooled buffers exist (lent or free). */
  get created(): number {
    return this.#created;
  }

  /** How many pooled buffers are waiting to be lent. */
  get free(): number {
    return this.#free.length;
  }

  /**
   * Lends a buffer: a pooled one when one is free or may still be made,
   * otherwise a small one of {@linkcode OVERFLOW_BUFFER_BYTES}.
   */
  acquire(): Uint8Array {
    const buffer = this.#free.pop();
    if (buffer !== undefined) return buffer;
    if (this.#created < this.maxBuffers) {
      this.#created++;
      return new Uint8Array(this.bufferBytes);
    }
    return new Uint8Array(Math.min(OVERFLOW_BUFFER_BYTES, this.bufferBytes));
  }

  /**
   * Takes back a buffer from {@linkcode BufferPool.acquire}. Overflow buffers
   * are dropped; a pooled buffer must not be used after this.
   */
  release(buffer: Uint8Array): void {
    if (buffer.length === this.bufferBytes && this.#free.length < this.#created) {
      this.#free.push(buffer);
    }
  }
}
