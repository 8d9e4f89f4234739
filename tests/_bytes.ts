/**
 * Test helpers for byte bodies: deterministic data, byte-exact comparison
 * that names the first difference, splitting multipart/byteranges, and
 * decoding the server's content codings.
 *
 * @module
 */

import * as zlib from "node:zlib";
import { assert, assertEquals } from "./_deps.ts";

/** `size` deterministic pseudo-random bytes (xorshift32), so a shifted or repeated block shows. */
export function randomBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Bytes as a string of code units 0-255, so string offsets are byte offsets. */
export function binary(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

/** Asserts that two byte arrays are equal, naming the first difference (no huge diff). */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(`${what}: first difference at byte ${i} of ${actual.length}`);
    }
  }
}

/** The parts of a multipart/byteranges body: their fields and bytes. */
export function multipartParts(
  body: Uint8Array,
  contentType: string,
): { fields: Headers; bytes: Uint8Array }[] {
  const boundary = /^multipart\/byteranges; boundary=(\w+)$/.exec(contentType)?.[1];
  assert(boundary !== undefined, `a multipart type: ${contentType}`);
  const text = binary(body);
  const first = `--${boundary}\r\n`;
  const last = `\r\n--${boundary}--\r\n`;
  assert(text.startsWith(first), "the body starts with the first boundary");
  assert(text.endsWith(last), "the body ends with the closing boundary");
  const inner = text.slice(first.length, text.length - last.length);
  return inner.split(`\r\n--${boundary}\r\n`).map((part) => {
    const end = part.indexOf("\r\n\r\n");
    const fields = new Headers();
    for (const line of part.slice(0, end).split("\r\n")) {
      const colon = line.indexOf(":");
      fields.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    const bytes = Uint8Array.from(part.slice(end + 4), (c) => c.charCodeAt(0));
    return { fields, bytes };
  });
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

/** Decodes a body in one of the server's codings. */
export function decode(coding: string | null, bytes: Uint8Array): Uint8Array {
  if (coding === null) return bytes;
  if (coding === "br") return new Uint8Array(zlib.brotliDecompressSync(bytes));
  if (coding === "zstd") return new Uint8Array(zlib.zstdDecompressSync(bytes));
  if (coding === "gzip") return new Uint8Array(zlib.gunzipSync(bytes));
  throw new Error(`unknown coding ${coding}`);
}

/** A streaming decompressor, for bodies that have not ended. */
function decompressor(coding: string): zlib.Gunzip | zlib.BrotliDecompress | zlib.ZstdDecompress {
  switch (coding) {
    case "br":
      return zlib.createBrotliDecompress();
    case "zstd":
      return zlib.createZstdDecompress();
    case "gzip":
      return zlib.createGunzip();
    default:
      throw new Error(`unknown coding ${coding}`);
  }
}

/**
 * What `bytes`, the start of an encoded stream, decode to so far: the
 * decompressor's output by the time it has taken all of them.
 */
export async function decodePrefix(coding: string, bytes: Uint8Array): Promise<Uint8Array> {
  const z = decompressor(coding);
  const out: Uint8Array[] = [];
  z.on("data", (chunk: Uint8Array) => out.push(new Uint8Array(chunk)));
  try {
    await new Promise<void>((resolve, reject) => {
      z.once("error", reject);
      z.write(bytes, (error) => error ? reject(error) : resolve());
    });
    return concat(out);
  } finally {
    z.destroy();
  }
}
