/**
 * The hot-file cache: small files' bytes and metadata held in memory, with
 * the request paths known to lead to them. It stores; it does not answer
 * requests or know any wire format: how a cached file is sent is decided by
 * the send path, or by a prepared-bytes fast path in the HTTP layer that
 * asks {@linkcode FileCache.lookup}.
 *
 * Freshness: what a request path resolves to is remembered for at most
 * `revalidateMs` after the file was last looked up on disk, by the clock
 * the cache is given. Past that, the next request takes the ordinary path
 * (resolve the path, `stat` the file), which either confirms the entry (the
 * same version: see {@linkcode sameVersion}) or replaces it; so a change on
 * disk is served within that time.
 *
 * @module
 */

import { DEFAULT_TUNING, type Tuning } from "../config.ts";
import type { Coding, ContentCoding } from "../encoding/negotiate.ts";
import type { Validators } from "./conditional.ts";
import type { FileStat } from "./fs.ts";

/** How much the cache holds, in the server's vocabulary ({@linkcode Tuning}). */
export type CacheLimits = Pick<Tuning, "cacheBytes" | "cacheFileBytes">;

/** The default cache limits: the server's (documented in README "Performance"). */
export const DEFAULT_CACHE_LIMITS: Readonly<CacheLimits> = Object.freeze({
  cacheBytes: DEFAULT_TUNING.cacheBytes,
  cacheFileBytes: DEFAULT_TUNING.cacheFileBytes,
});

/** How long a path's lookup is trusted before the file is looked at again. */
export const REVALIDATE_MS = 1000;

/** Most request paths remembered; beyond it they are forgotten all at once and relearnt. */
const MAX_ROUTES = 4096;
/** Longest request path remembered. */
const MAX_ROUTE_LENGTH = 1024;

/** One representation of a cached file: its bytes and what its 200 response says about them. */
export interface CachedRepresentation {
  /** The content coding of the bytes (`identity` for the file's own). */
  readonly coding: ContentCoding;
  /** The bytes. */
  readonly body: Uint8Array;
  /** The 200 response's fields, from `fileHeaders` (no framing); never to be changed. */
  readonly headers: Headers;
  /** Its entity tag and the file's modification time. */
  readonly validators: Validators;
}

/**
 * A file held in memory: its own bytes (the identity representation, whose
 * fields this object carries) and the encoded representations made of it
 * so far, all counted in the cache's budget.
 */
export interface CachedFile extends CachedRepresentation {
  /** The file's real path. */
  readonly path: string;
  /** Its metadata when it was read (from the handle its bytes were read through). */
  readonly stat: FileStat;
  /** Its `Content-Type`. */
  readonly type: string;
  /** The codings it may also be sent in, in order of preference; empty when not compressed. */
  readonly codings: readonly Coding[];
  /** Its encoded representations made so far (see {@linkcode FileCache.addEncoded}). */
  readonly encoded: ReadonlyMap<Coding, CachedRepresentation>;
}

/** What the cache is given to keep: a file's bytes and the fields of its 200. */
export interface FileEntry {
  /** Its `Content-Type`. */
  readonly type: string;
  /** Its bytes. */
  readonly body: Uint8Array;
  /** The 200 response's fields (no framing). */
  readonly headers: Headers;
  /** Its entity tag and modification time. */
  readonly validators: Validators;
  /** The codings it may also be sent in; empty when not compressed. */
  readonly codings: readonly Coding[];
}

/**
 * Whether two stats describe the same version of a file: a regular file of
 * the same size, modification time, inode and status-change time. The inode
 * tells a file replaced by rename; the change time a rewrite in place that
 * kept size and modification time (set back by a tool, or within one tick).
 *
 * @param cached The stat of the version held.
 * @param current The stat of what is on disk now.
 * @returns True when the held version may be served.
 *
 * @example
 * ```ts
 * const stat = { isFile: true, isDirectory: false, size: 1, mtime: null, ino: 7, ctime: null };
 * sameVersion(stat, { ...stat, ino: 8 }); // false
 * ```
 */
export function sameVersion(cached: FileStat, current: FileStat): boolean {
  return current.isFile && current.size === cached.size && current.ino === cached.ino &&
    timeOf(current.mtime) === timeOf(cached.mtime) &&
    timeOf(current.ctime) === timeOf(cached.ctime);
}

function timeOf(date: Date | null): number | null {
  return date === null ? null : date.getTime();
}

function cachedFile(path: string, stat: FileStat, entry: FileEntry): CachedFile {
  const { type, body, headers, validators, codings } = entry;
  const encoded = new Map<Coding, CachedRepresentation>();
  return Object.freeze({
    path,
    stat,
    coding: "identity",
    type,
    body,
    headers,
    validators,
    codings,
    encoded,
  });
}

/** Bytes a cached file holds: its own and its encoded representations'. */
function bytesOf(file: CachedFile): number {
  let bytes = file.body.length;
  for (const representation of file.encoded.values()) bytes += representation.body.length;
  return bytes;
}

/** What a request path resolved to, and when that was last checked on disk. */
interface Route {
  readonly file: CachedFile;
  readonly checkedAt: number;
}

/**
 * Small files in memory, least recently used evicted first, and the request
 * paths known to resolve to them.
 *
 * @example
 * ```ts
 * const cache = new FileCache(DEFAULT_CACHE_LIMITS);
 * const stat = await Deno.stat("www/index.html");
 * const body = await Deno.readFile("www/index.html");
 * const validators = { etag: "\"1\"", lastModified: stat.mtime };
 * const headers = new Headers({ "content-type": "text/html" });
 * const file = cache.add("/srv/www/index.html", stat,
 *   { type: "text/html", body, headers, validators, codings: [] });
 * cache.route("/", file, cache.now());
 * cache.lookup("/") === file; // true, for a second
 * ```
 */
export class FileCache {
  /** The size limits. */
  readonly limits: Readonly<CacheLimits>;
  #revalidateMs: number;
  #now: () => number;
  // Map order is recency order: a hit moves the file to the end.
  #files = new Map<string, CachedFile>();
  #bytes = 0;
  #routes = new Map<string, Route>();
  #hits = 0;
  #misses = 0;

  /**
   * @param limits The largest file and the total kept.
   * @param revalidateMs How long a request path's lookup is trusted.
   * @param now The clock, in milliseconds (monotonic).
   */
  constructor(
    limits: Readonly<CacheLimits>,
    revalidateMs: number = REVALIDATE_MS,
    now: () => number = () => performance.now(),
  ) {
    this.limits = limits;
    this.#revalidateMs = revalidateMs;
    this.#now = now;
  }

  /** The clock the cache judges freshness by. */
  now(): number {
    return this.#now();
  }

  /** Bytes held: the files' own and their encoded representations'. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Files held. */
  get size(): number {
    return this.#files.size;
  }

  /** Lookups answered from memory (by path and version, or by a request path). */
  get hits(): number {
    return this.#hits;
  }

  /** Lookups by path and version that memory could not answer. */
  get misses(): number {
    return this.#misses;
  }

  /** Whether a file of this size would be kept. */
  accepts(size: number): boolean {
    return size <= this.limits.cacheFileBytes && size <= this.limits.cacheBytes;
  }

  /**
   * The cached file at `path` if it is the version `stat` describes; a
   * stale one is dropped.
   */
  get(path: string, stat: FileStat): CachedFile | undefined {
    const file = this.#files.get(path);
    if (file === undefined) {
      this.#misses++;
      return undefined;
    }
    if (!sameVersion(file.stat, stat)) {
      this.#remove(file);
      this.#misses++;
      return undefined;
    }
    this.#touch(file);
    this.#hits++;
    return file;
  }

  /**
   * Keeps a file, replacing any older version, and evicts the least
   * recently used files until the total fits.
   *
   * @returns The cached file (kept only if {@linkcode FileCache.accepts} its size).
   */
  add(path: string, stat: FileStat, entry: FileEntry): CachedFile {
    const file = cachedFile(path, stat, entry);
    const old = this.#files.get(path);
    if (old !== undefined) this.#remove(old);
    if (!this.accepts(entry.body.length)) return file;
    this.#files.set(path, file);
    this.#bytes += entry.body.length;
    this.#evict();
    return file;
  }

  /**
   * Keeps an encoded representation of a cached file, counted in the
   * budget (the least recently used files are evicted to make room). A
   * file no longer held gets it too, for the request that made it, but
   * nothing is counted.
   *
   * @param file The file it encodes.
   * @param representation The encoded bytes and their fields.
   */
  addEncoded(file: CachedFile, representation: CachedRepresentation): void {
    if (representation.coding === "identity") return;
    const encoded = file.encoded as Map<Coding, CachedRepresentation>;
    const old = encoded.get(representation.coding);
    encoded.set(representation.coding, representation);
    if (this.#files.get(file.path) !== file) return;
    this.#bytes += representation.body.length - (old?.body.length ?? 0);
    this.#evict();
  }

  #evict(): void {
    for (const [, oldest] of this.#files) {
      if (this.#bytes <= this.limits.cacheBytes) break;
      this.#remove(oldest);
    }
  }

  /**
   * Remembers that `path` (a raw request path) resolved to `file`, as
   * checked on disk at `checkedAt` (by {@linkcode FileCache.now}, taken
   * before the check began).
   */
  route(path: string, file: CachedFile, checkedAt: number): void {
    if (path.length > MAX_ROUTE_LENGTH || this.#files.get(file.path) !== file) return;
    if (this.#routes.size >= MAX_ROUTES && !this.#routes.has(path)) this.#routes.clear();
    this.#routes.set(path, { file, checkedAt });
  }

  /**
   * The file a raw request path resolved to, if it was checked on disk
   * within the revalidation time and is still held.
   */
  lookup(rawPath: string): CachedFile | undefined {
    const route = this.#routes.get(rawPath);
    if (route === undefined) return undefined;
    const file = route.file;
    if (
      this.#now() - route.checkedAt >= this.#revalidateMs || this.#files.get(file.path) !== file
    ) {
      this.#routes.delete(rawPath);
      return undefined;
    }
    this.#touch(file);
    this.#hits++;
    return file;
  }

  #touch(file: CachedFile): void {
    this.#files.delete(file.path);
    this.#files.set(file.path, file);
  }

  #remove(file: CachedFile): void {
    if (this.#files.get(file.path) !== file) return;
    this.#files.delete(file.path);
    this.#bytes -= bytesOf(file);
  }
}
