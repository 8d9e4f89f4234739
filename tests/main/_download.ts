/**
 * A large download for tests that change the server while it runs: a file
 * of a byte pattern that a lost, repeated or shifted chunk breaks, written
 * in 1 MiB pieces, and a reader that checks every byte as it comes.
 *
 * @module
 */

import { deadline, READ_TIMEOUT_MS } from "../_helpers.ts";

/** The size of the download. */
export const DOWNLOAD_BYTES = 100 * 1024 * 1024;

/** The byte at `offset` of the download. */
function patternByte(offset: number): number {
  return (offset * 31 + (offset >>> 16)) & 0xff;
}

/**
 * Writes the download file.
 *
 * @param path Where.
 */
export async function writeDownload(path: string): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const piece = new Uint8Array(1024 * 1024);
  for (let start = 0; start < DOWNLOAD_BYTES; start += piece.length) {
    for (let i = 0; i < piece.length; i++) piece[i] = patternByte(start + i);
    let written = 0;
    while (written < piece.length) written += await file.write(piece.subarray(written));
  }
}

/**
 * Reads a download to its end, checking every byte against the pattern
 * (each read with a deadline).
 *
 * @param reader The body's reader.
 * @param first What was already read from it, if anything.
 * @returns How many bytes came.
 * @throws {Error} At the first byte that differs.
 */
export async function checkedLength(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  first: Uint8Array = new Uint8Array(0),
): Promise<number> {
  let offset = 0;
  const check = (chunk: Uint8Array) => {
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== patternByte(offset + i)) throw new Error(`byte ${offset + i} differs`);
    }
    offset += chunk.length;
  };
  check(first);
  while (true) {
    const { value, done } = await deadline(reader.read(), READ_TIMEOUT_MS, "download stalled");
    if (done) return offset;
    check(value);
  }
}
