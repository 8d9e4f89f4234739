/**
 * The files the servers serve: a tiny text file, an HTML page and three
 * binaries of deterministic pseudo-random bytes, written in chunks so the
 * 100 MiB file never sits in memory whole.
 *
 * @module
 */

const MIB = 1024 * 1024;

/** The corpus: file name → size in bytes. */
export const CORPUS = {
  "12b": 12,
  "4k.html": 4096,
  "64k.bin": 64 * 1024,
  "1m.bin": MIB,
  "100m.bin": 100 * MIB,
} as const;

/** One of the corpus's file names. */
export type CorpusFile = keyof typeof CORPUS;

/** The 12-byte file's content. */
const SMALL_TEXT = "hello world\n";

/** Largest piece of a binary file generated and written at once. */
const CHUNK_BYTES = MIB;

/**
 * An HTML page of exactly `size` bytes (ASCII), padded with paragraphs.
 *
 * @param size The length in bytes; at least the length of the bare page.
 * @returns The page.
 * @throws {RangeError} When `size` is too small for the bare page.
 *
 * @example
 * ```ts
 * htmlPage(4096).length; // 4096
 * ```
 */
export function htmlPage(size: number): string {
  const open = "<!doctype html>\n<html lang=en><head><meta charset=utf-8>" +
    "<title>portico benchmark</title></head>\n<body>\n";
  const close = "</body></html>\n";
  const room = size - open.length - close.length;
  if (room < 0) throw new RangeError(`an HTML page needs at least ${size - room} bytes`);
  const paragraph = "<p>The quick brown fox jumps over the lazy dog.</p>\n";
  const filler = paragraph.repeat(Math.ceil(room / paragraph.length)).slice(0, room);
  // A cut paragraph would leave a dangling tag; pad the tail with spaces instead.
  const whole = filler.lastIndexOf("\n") + 1;
  return open + filler.slice(0, whole) + " ".repeat(room - whole) + close;
}

/**
 * Fills `bytes` with xorshift32 output, four bytes per step (little-endian
 * on every machine Deno runs on), and returns the state to continue from.
 *
 * @param bytes The buffer; its length must be a multiple of 4.
 * @param state A non-zero 32-bit seed, or the value returned for the previous chunk.
 * @returns The next state.
 *
 * @example
 * ```ts
 * const a = new Uint8Array(8);
 * const b = new Uint8Array(8);
 * fillPseudoRandom(a, 1) === fillPseudoRandom(b, 1); // true, and a and b hold the same bytes
 * ```
 */
export function fillPseudoRandom(bytes: Uint8Array, state: number): number {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  let x = state >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return x;
}

/** Seeds per file, so no two binaries share content. */
const SEEDS = { "64k.bin": 0x6b6b6b6b, "1m.bin": 0x1d1d1d1d, "100m.bin": 0x10010010 } as const;

async function writeBinary(path: string, size: number, seed: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const chunk = new Uint8Array(Math.min(size, CHUNK_BYTES));
    let state = seed;
    for (let written = 0; written < size;) {
      const piece = chunk.subarray(0, Math.min(chunk.length, size - written));
      state = fillPseudoRandom(piece, state);
      for (let done = 0; done < piece.length;) done += await file.write(piece.subarray(done));
      written += piece.length;
    }
  } finally {
    file.close();
  }
}

/**
 * Writes the corpus into `dir` (which must exist).
 *
 * @param dir The document root.
 * @param withLarge Whether to write `100m.bin`.
 */
export async function writeCorpus(dir: string, withLarge: boolean): Promise<void> {
  await Deno.writeTextFile(`${dir}/12b`, SMALL_TEXT);
  await Deno.writeTextFile(`${dir}/4k.html`, htmlPage(CORPUS["4k.html"]));
  await writeBinary(`${dir}/64k.bin`, CORPUS["64k.bin"], SEEDS["64k.bin"]);
  await writeBinary(`${dir}/1m.bin`, CORPUS["1m.bin"], SEEDS["1m.bin"]);
  if (withLarge) await writeBinary(`${dir}/100m.bin`, CORPUS["100m.bin"], SEEDS["100m.bin"]);
}
