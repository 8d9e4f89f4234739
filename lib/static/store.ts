/**
 * Which store a file is sent from: the cache when it holds this version of
 * the file, the disk otherwise. A file the cache would keep is read whole
 * and admitted; a larger one is left open to be streamed.
 *
 * @module
 */

import type { CachedFile, FileCache } from "./cache.ts";
import { contentTag, type FileDigests } from "./digest.ts";
import type { FileHandle, FileStat, FileSystem } from "./fs.ts";
import type { Representation } from "./headers.ts";
import { codingsFor, type ContentPolicy, describe, type FileFacts } from "./policy.ts";
import type { OpenFiles } from "./open_files.ts";
import type { Found } from "./root.ts";

/** Where files come from: the file system, the cache in front of it (or none), and their tags. */
export interface FileStore {
  /** The file system. */
  readonly fs: FileSystem;
  /** The hot-file cache, or null for none. */
  readonly cache: FileCache | null;
  /** The content tags of files, each version hashed once. */
  readonly digests: FileDigests;
  /** Open handles of larger files kept for the next request, or null for none. */
  readonly openFiles: OpenFiles | null;
}

/** A file ready to be sent. */
export interface OpenedFile {
  /** Its bytes, at offset 0: an open file, or a {@linkcode MemoryFile} over cached bytes. */
  readonly handle: FileHandle;
  /** Its 200 representation in identity (the cache's fields for a cached file). */
  readonly representation: Representation;
  /** What it is: name, type, metadata, tag and the codings it may be sent in. */
  readonly facts: FileFacts;
  /** The cache entry it was served from or admitted into, if any. */
  readonly cached: CachedFile | undefined;
}

/**
 * Opens a found file from the cache or the disk. A file the cache takes is
 * read whole, hashed and admitted; a larger one is tagged by
 * {@linkcode FileDigests.tagFor} and left open to be streamed.
 *
 * @param store The file system, the cache and the digests.
 * @param found The file's real path and the metadata it was found with.
 * @param name The name it is served under; `Cache-Control` depends on it.
 * @param type Its `Content-Type`.
 * @param policy Codings and `Cache-Control`.
 * @returns The opened file, or null when it is no longer a regular file.
 * @throws What the file system throws; a file opened before the failure is closed.
 *
 * @example
 * ```ts
 * import { denoFileSystem } from "./fs.ts";
 * import { FileDigests } from "./digest.ts";
 * import { contentPolicy } from "./policy.ts";
 *
 * const path = await Deno.realPath("www/index.html");
 * const store = {
 *   fs: denoFileSystem,
 *   cache: null,
 *   digests: new FileDigests(denoFileSystem),
 *   openFiles: null,
 * };
 * const opened = await openFile(store, { path, stat: await Deno.stat(path) }, "index.html",
 *   "text/html", contentPolicy(undefined, {}));
 * opened?.handle.close();
 * ```
 */
export async function openFile(
  store: FileStore,
  found: Found,
  name: string,
  type: string,
  policy: ContentPolicy,
): Promise<OpenedFile | null> {
  const cached = store.cache?.get(found.path, found.stat);
  if (cached !== undefined) return fromCache(cached, name);
  const reused = store.openFiles?.take(found) ?? null;
  if (reused !== null) {
    try {
      return await streamed(store, found, name, type, policy, reused, found.stat);
    } catch (error) {
      reused.close();
      throw error;
    }
  }
  const handle = await store.fs.open(found.path);
  try {
    const stat = await handle.stat();
    if (!stat.isFile) {
      handle.close();
      return null;
    }
    const codings = codingsFor(policy, type, stat.size);
    if (store.cache?.accepts(stat.size)) {
      const body = await readWhole(handle, stat.size);
      if (body !== null) {
        handle.close();
        const tag = contentTag(body);
        store.digests.remember(found.path, stat, tag);
        const facts = { path: found.path, name, type, stat, tag, codings };
        const entry = { type, body, codings, ...describe(policy, facts, "identity") };
        return fromCache(store.cache.add(found.path, stat, entry), name);
      }
      // It shrank while being read: stream it, which fails as it should.
      await handle.seek(0, Deno.SeekMode.Start);
    }
    return await streamed(store, found, name, type, policy, handle, stat);
  } catch (error) {
    handle.close();
    throw error;
  }
}

/**
 * A file sent from its open handle, which goes back to the open-file cache
 * when the response is done with it.
 */
async function streamed(
  store: FileStore,
  found: Found,
  name: string,
  type: string,
  policy: ContentPolicy,
  handle: FileHandle,
  stat: FileStat,
): Promise<OpenedFile> {
  const codings = codingsFor(policy, type, stat.size);
  const tag = await store.digests.tagFor(found.path, stat, handle);
  const facts = { path: found.path, name, type, stat, tag, codings };
  const { headers, validators } = describe(policy, facts, "identity");
  const representation = { status: 200, size: stat.size, headers, validators };
  const lent = store.openFiles?.lend({ path: found.path, stat }, handle) ?? handle;
  return { handle: lent, representation, facts, cached: undefined };
}

function fromCache(file: CachedFile, name: string): OpenedFile {
  const { headers, validators, type, stat, codings } = file;
  const representation = { status: 200, size: file.body.length, headers, validators };
  const facts = { path: file.path, name, type, stat, tag: validators.etag, codings };
  return { handle: new MemoryFile(file.body, stat), representation, facts, cached: file };
}

/**
 * Reads `size` bytes from the start of an open file.
 *
 * @param file The open file, at offset 0.
 * @param size How many bytes to read.
 * @returns The bytes, or null when the file ended sooner.
 */
export async function readWhole(file: FileHandle, size: number): Promise<Uint8Array | null> {
  const bytes = new Uint8Array(size);
  let n = 0;
  while (n < size) {
    const read = await file.read(bytes.subarray(n));
    if (read === null) return null;
    n += read;
  }
  return bytes;
}

/**
 * Bytes in memory read like an open file, so the one send path (ranges,
 * preconditions, streaming) serves cached files too.
 *
 * @example
 * ```ts
 * const stat = await Deno.stat("www/index.html");
 * const file = new MemoryFile(new TextEncoder().encode("hello"), stat);
 * await file.read(new Uint8Array(2)); // 2
 * ```
 */
export class MemoryFile implements FileHandle {
  readonly #body: Uint8Array;
  readonly #stat: FileStat;
  #position = 0;

  /**
   * @param body The bytes.
   * @param stat The metadata of the file they were read from.
   */
  constructor(body: Uint8Array, stat: FileStat) {
    this.#body = body;
    this.#stat = stat;
  }

  read(p: Uint8Array): Promise<number | null> {
    const body = this.#body;
    if (this.#position >= body.length) return Promise.resolve(null);
    const n = Math.min(p.length, body.length - this.#position);
    p.set(body.subarray(this.#position, this.#position + n));
    this.#position += n;
    return Promise.resolve(n);
  }

  seek(offset: number, whence: Deno.SeekMode): Promise<number> {
    const base = whence === Deno.SeekMode.Start
      ? 0
      : whence === Deno.SeekMode.Current
      ? this.#position
      : this.#body.length;
    this.#position = Math.max(0, base + offset);
    return Promise.resolve(this.#position);
  }

  stat(): Promise<FileStat> {
    return Promise.resolve(this.#stat);
  }

  close(): void {}
}
