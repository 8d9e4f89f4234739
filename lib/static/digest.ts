/**
 * Entity tags from a file's bytes, so that the same file has the same tag on
 * every replica whatever its modification time (RFC 9110 §8.8.3 leaves how a
 * tag is made to the server).
 *
 * Each version of a file (its path, size, modification time, inode and
 * change time: see `sameVersion`) is hashed once and the tag remembered.
 * A file up to {@linkcode DigestOptions.inlineBytes} is hashed while its
 * request waits (SHA-256 runs at about 1.2 GB/s from a file in the page
 * cache, so 1 MiB costs about 1 ms: `deno task bench`, "Hashing"); a
 * larger one is hashed in the background, one file at a time, and until
 * that is done its responses carry a tag made from its size and
 * modification time. So the tag of a large file changes at most once for
 * the same bytes: from the provisional tag to the content tag.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { sameVersion } from "./cache.ts";
import { fileEtag } from "./conditional.ts";
import type { FileHandle, FileStat, FileSystem } from "./fs.ts";

/** Largest file hashed while its request waits, by default (1 MiB). */
export const DEFAULT_INLINE_HASH_BYTES = 1024 * 1024;
/** Most file versions whose tags are remembered; beyond it they are forgotten all at once. */
const MAX_REMEMBERED = 8192;
/** Most large files waiting to be hashed; more are hashed when asked for again later. */
const MAX_QUEUED = 64;
/** Size of each read while hashing. */
const HASH_CHUNK_BYTES = 256 * 1024;

/**
 * The strong entity tag of some bytes: the first 128 bits of their SHA-256,
 * base64url, quoted (`"…"`, 24 characters).
 *
 * @param bytes The bytes.
 * @returns The tag.
 *
 * @example
 * ```ts
 * contentTag(new TextEncoder().encode("hello")); // "\"LPJNul-wow4m6DsqxbninQ\""
 * ```
 */
export function contentTag(bytes: Uint8Array): string {
  return tagOf(createHash("sha256").update(bytes));
}

function tagOf(hash: ReturnType<typeof createHash>): string {
  const digest = hash.digest();
  return `"${digest.subarray(0, 16).toString("base64url")}"`;
}

/**
 * The tag of a representation derived from a file by a content coding: the
 * file's tag with the coding's name, so each encoded representation has a
 * tag of its own (RFC 9110 §8.8.3) that is the same on every replica.
 *
 * @param tag The file's tag (quoted).
 * @param coding The coding's name (`br`, `zstd`, `gzip`).
 * @returns The quoted tag.
 *
 * @example
 * ```ts
 * encodedTag("\"abc\"", "br"); // "\"abc-br\""
 * ```
 */
export function encodedTag(tag: string, coding: string): string {
  return `${tag.slice(0, -1)}-${coding}"`;
}

/** How file digests are taken. */
export interface DigestOptions {
  /** Largest file hashed while its request waits; larger ones are hashed in the background. */
  readonly inlineBytes: number;
}

interface Remembered {
  readonly stat: FileStat;
  readonly tag: string;
}

/**
 * The content tags of files on disk, each version hashed once.
 *
 * @example
 * ```ts
 * import { denoFileSystem } from "./fs.ts";
 *
 * const digests = new FileDigests(denoFileSystem);
 * const path = await Deno.realPath("www/index.html");
 * const file = await Deno.open(path);
 * await digests.tagFor(path, await file.stat(), file); // "\"…\"" (hashed now: a small file)
 * file.close();
 * ```
 */
export class FileDigests {
  readonly #fs: FileSystem;
  readonly #inlineBytes: number;
  #known = new Map<string, Remembered>();
  #queue: Array<{ path: string; stat: FileStat }> = [];
  #queued = new Set<string>();
  #running: Promise<void> | null = null;

  /**
   * @param fs The file system background hashing opens files through.
   * @param options The largest file hashed inline.
   */
  constructor(fs: FileSystem, options: DigestOptions = { inlineBytes: DEFAULT_INLINE_HASH_BYTES }) {
    this.#fs = fs;
    this.#inlineBytes = options.inlineBytes;
  }

  /** The remembered tag of this version of the file at `path`, if it was hashed. */
  known(path: string, stat: FileStat): string | undefined {
    const remembered = this.#known.get(path);
    return remembered !== undefined && sameVersion(remembered.stat, stat)
      ? remembered.tag
      : undefined;
  }

  /**
   * Remembers the tag of a version whose bytes were hashed elsewhere (the
   * cache hashes what it reads).
   */
  remember(path: string, stat: FileStat, tag: string): void {
    if (this.#known.size >= MAX_REMEMBERED && !this.#known.has(path)) this.#known.clear();
    this.#known.set(path, { stat, tag });
  }

  /**
   * The tag for an open file: its content tag when known or small enough to
   * hash now (the handle is read and put back at offset 0), else the
   * provisional tag from its size and modification time while the content
   * tag is taken in the background.
   *
   * @param path The file's real path.
   * @param stat Its metadata, from the handle.
   * @param handle The open file, at offset 0.
   * @returns The quoted tag.
   */
  async tagFor(path: string, stat: FileStat, handle: FileHandle): Promise<string> {
    const known = this.known(path, stat);
    if (known !== undefined) return known;
    if (stat.size <= this.#inlineBytes) {
      const tag = await hashHandle(handle, stat.size);
      await handle.seek(0, Deno.SeekMode.Start);
      if (tag !== null) this.remember(path, stat, tag);
      return tag ?? fileEtag(stat.size, stat.mtime);
    }
    this.#enqueue(path, stat);
    return fileEtag(stat.size, stat.mtime);
  }

  /** Resolves when no background hashing is left (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  #enqueue(path: string, stat: FileStat): void {
    if (this.#queued.has(path) || this.#queue.length >= MAX_QUEUED) return;
    this.#queued.add(path);
    this.#queue.push({ path, stat });
    this.#running ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        await this.#hashInBackground(next.path, next.stat);
        this.#queued.delete(next.path);
      }
    } finally {
      this.#running = null;
    }
  }

  async #hashInBackground(path: string, stat: FileStat): Promise<void> {
    let handle: FileHandle | undefined;
    try {
      handle = await this.#fs.open(path);
      const now = await handle.stat();
      // Hash only the version that was asked for; a newer one is queued when asked for.
      if (!sameVersion(stat, now)) return;
      const tag = await hashHandle(handle, now.size);
      if (tag !== null) this.remember(path, now, tag);
    } catch {
      // Unreadable now: the provisional tag stays, and the next request tries again.
    } finally {
      handle?.close();
    }
  }
}

/**
 * Hashes `size` bytes of an open file from its current offset, yielding to
 * other work between reads.
 *
 * @returns The tag, or null when the file ended sooner (it changed while read).
 */
async function hashHandle(handle: FileHandle, size: number): Promise<string | null> {
  const hash = createHash("sha256");
  const chunk = new Uint8Array(Math.min(HASH_CHUNK_BYTES, Math.max(1, size)));
  let left = size;
  while (left > 0) {
    const n = await handle.read(left < chunk.length ? chunk.subarray(0, left) : chunk);
    if (n === null) return null;
    hash.update(chunk.subarray(0, n));
    left -= n;
  }
  return tagOf(hash);
}
