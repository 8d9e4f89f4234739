/**
 * The hot-file cache: small files held in memory with their response heads
 * already serialised, so a GET for one is answered with a single write and
 * no file-system call.
 *
 * Freshness: what a request path resolves to is remembered for at most
 * `revalidateMs` after the file was last looked up on disk. Past that, the
 * next request takes the ordinary path (resolve the path, `stat` the file),
 * which either confirms the entry (same size and modification time) or
 * replaces it; so a change on disk is served within that time.
 *
 * @module
 */

import type { Prepared, Shortcut } from "../connection.ts";
import type { RequestHead } from "../http/parse.ts";
import { rawPath } from "../http/request.ts";
import { encodeLatin1, httpDate, serializeHead } from "../http/response.ts";
import { evaluatePreconditions, fileEtag, type Validators } from "./conditional.ts";
import type { FileHandle, FileStat } from "./fs.ts";

/** How much the cache holds. */
export interface CacheLimits {
  /** Largest file kept, in bytes. */
  maxFileBytes: number;
  /** Most file bytes kept in all; the least recently used files go first. */
  maxTotalBytes: number;
}

/** The default cache limits (documented in README "Performance"). */
export const DEFAULT_CACHE_LIMITS: Readonly<CacheLimits> = Object.freeze({
  maxFileBytes: 64 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
});

/** How long a path's lookup is trusted before the file is looked at again. */
export const REVALIDATE_MS = 1000;

/** Most request paths remembered; beyond it they are forgotten all at once and relearnt. */
const MAX_ROUTES = 4096;
/** Longest request path remembered. */
const MAX_ROUTE_LENGTH = 1024;

/** Which response a cached file gives. */
export type CachedKind = "get" | "head" | "not-modified";

/** A file held in memory, with its validators and prepared responses. */
export class CachedFile {
  /** The file's real path. */
  readonly path: string;
  /** Its metadata when it was read. */
  readonly stat: FileStat;
  /** Its `Content-Type`. */
  readonly type: string;
  /** Its entity tag and modification time. */
  readonly validators: Validators;
  #body: Uint8Array;
  // The GET response (head and body in one buffer) and the 304 head, for
  // keep-alive HTTP/1.1, as of #date and #server.
  #date = "";
  #server = "";
  #get: Uint8Array | null = null;
  #getHead = 0;
  #notModified: Uint8Array | null = null;

  /**
   * @param path The file's real path.
   * @param stat Its metadata, from the handle its bytes were read through.
   * @param body Its bytes.
   * @param type Its `Content-Type`.
   */
  constructor(path: string, stat: FileStat, body: Uint8Array, type: string) {
    this.path = path;
    this.stat = stat;
    this.type = type;
    this.#body = body;
    this.validators = { etag: fileEtag(stat.size, stat.mtime), lastModified: stat.mtime };
  }

  /** The file's bytes. */
  get body(): Uint8Array {
    return this.#body;
  }

  /** Whether `stat` describes the same version of the file. */
  matches(stat: FileStat): boolean {
    return stat.isFile && stat.size === this.stat.size &&
      (stat.mtime?.getTime() ?? 0) === (this.stat.mtime?.getTime() ?? 0);
  }

  /**
   * The complete response of one kind as bytes. Those for keep-alive
   * HTTP/1.1 are built once a second (when `Date` changes) and shared.
   *
   * @param kind GET (200 with body), HEAD (200 without) or a 304.
   * @param connection The `Connection` value to send, or "" for none.
   * @param server The `Server` value.
   * @returns The bytes to write, with the status and body size to log.
   */
  prepared(kind: CachedKind, connection: string, server: string): Prepared {
    if (connection !== "") return this.#build(kind, connection, server);
    const date = httpDate();
    if (date !== this.#date || server !== this.#server) {
      this.#date = date;
      this.#server = server;
      this.#get = null;
      this.#notModified = null;
    }
    if (kind === "not-modified") {
      this.#notModified ??= this.#build(kind, "", server).bytes;
      return { bytes: this.#notModified, status: 304, bodyBytes: 0 };
    }
    if (this.#get === null) {
      const built = this.#build("get", "", server);
      this.#get = built.bytes;
      this.#getHead = built.bytes.length - this.stat.size;
      // Keep one copy of the bytes: the body is a view of the response.
      this.#body = built.bytes.subarray(this.#getHead);
    }
    if (kind === "head") {
      return { bytes: this.#get.subarray(0, this.#getHead), status: 200, bodyBytes: 0 };
    }
    return { bytes: this.#get, status: 200, bodyBytes: this.stat.size };
  }

  #build(kind: CachedKind, connection: string, server: string): Prepared {
    const headers = new Headers({
      "accept-ranges": "bytes",
      etag: this.validators.etag,
    });
    if (this.stat.mtime !== null) headers.set("last-modified", this.stat.mtime.toUTCString());
    const framing: Array<[string, string]> = [];
    if (kind !== "not-modified") {
      headers.set("content-type", this.type);
      framing.push(["content-length", String(this.stat.size)]);
    }
    if (connection !== "") framing.push(["connection", connection]);
    const status = kind === "not-modified" ? 304 : 200;
    const reason = kind === "not-modified" ? "Not Modified" : "OK";
    const head = encodeLatin1(serializeHead(status, reason, headers, framing, server));
    if (kind !== "get") return { bytes: head, status, bodyBytes: 0 };
    const bytes = new Uint8Array(head.length + this.#body.length);
    bytes.set(head);
    bytes.set(this.#body, head.length);
    return { bytes, status, bodyBytes: this.#body.length };
  }
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
 * const file = cache.add("/srv/www/index.html", stat, await Deno.readFile("www/index.html"), "text/html");
 * cache.route("/", file, performance.now());
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

  /** File bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Files held. */
  get size(): number {
    return this.#files.size;
  }

  /** Whether a file of this size would be kept. */
  accepts(size: number): boolean {
    return size <= this.limits.maxFileBytes && size <= this.limits.maxTotalBytes;
  }

  /**
   * The cached file at `path` if it is the version `stat` describes; a
   * stale one is dropped.
   */
  get(path: string, stat: FileStat): CachedFile | undefined {
    const file = this.#files.get(path);
    if (file === undefined) return undefined;
    if (!file.matches(stat)) {
      this.#remove(file);
      return undefined;
    }
    this.#touch(file);
    return file;
  }

  /**
   * Keeps a file, replacing any older version, and evicts the least
   * recently used files until the total fits.
   *
   * @returns The cached file (kept only if {@linkcode FileCache.accepts} its size).
   */
  add(path: string, stat: FileStat, body: Uint8Array, type: string): CachedFile {
    const file = new CachedFile(path, stat, body, type);
    const old = this.#files.get(path);
    if (old !== undefined) this.#remove(old);
    if (!this.accepts(body.length)) return file;
    this.#files.set(path, file);
    this.#bytes += body.length;
    for (const [, oldest] of this.#files) {
      if (this.#bytes <= this.limits.maxTotalBytes) break;
      this.#remove(oldest);
    }
    return file;
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
  lookup(path: string): CachedFile | undefined {
    const route = this.#routes.get(path);
    if (route === undefined) return undefined;
    const file = route.file;
    if (
      this.#now() - route.checkedAt >= this.#revalidateMs || this.#files.get(file.path) !== file
    ) {
      this.#routes.delete(path);
      return undefined;
    }
    this.#touch(file);
    return file;
  }

  #touch(file: CachedFile): void {
    this.#files.delete(file.path);
    this.#files.set(file.path, file);
  }

  #remove(file: CachedFile): void {
    if (this.#files.get(file.path) !== file) return;
    this.#files.delete(file.path);
    this.#bytes -= file.stat.size;
  }
}

/**
 * Answers GET and HEAD requests for cached files from the head alone: a 200
 * or, for `If-None-Match` / `If-Modified-Since` that match, a 304. Requests
 * with a body, a range or other preconditions, and paths not known to the
 * cache, are left to the handler (which also refreshes the cache).
 *
 * @param cache The cache the static handler fills.
 * @returns The shortcut for the connection layer.
 */
export function cacheShortcut(cache: FileCache): Shortcut {
  return (head, connection, server) => {
    const method = head.method;
    if ((method !== "GET" && method !== "HEAD") || head.form !== "origin") return null;
    if (head.framing.kind !== "none") return null;
    const file = cache.lookup(rawPath(head));
    if (file === undefined) return null;
    let ifNoneMatch: string | null = null;
    let conditional = false;
    for (const [name, value] of head.fields) {
      if (name.charCodeAt(0) !== 0x69 && name !== "range") continue; // "i..."
      if (name === "if-none-match") {
        ifNoneMatch = ifNoneMatch === null ? value : `${ifNoneMatch}, ${value}`;
      } else if (name === "if-modified-since") {
        conditional = true;
      } else if (name === "range" || name === "if-range" || name === "if-match") {
        return null;
      } else if (name === "if-unmodified-since") {
        return null;
      }
    }
    // The usual revalidation sends back the one entity tag it was given; with
    // If-None-Match present, If-Modified-Since is ignored (RFC 9110 §13.1.3).
    if (ifNoneMatch === file.validators.etag) {
      return file.prepared("not-modified", connection, server);
    }
    if (conditional || ifNoneMatch !== null) {
      const decision = evaluatePreconditions(method, fieldsOf(head), file.validators);
      if (decision === "not-modified") return file.prepared("not-modified", connection, server);
      if (decision === "failed") return null;
    }
    return file.prepared(method === "HEAD" ? "head" : "get", connection, server);
  };
}

/** A `Headers`-like view of a head's fields: repeated fields joined with ", ". */
function fieldsOf(head: RequestHead): Pick<Headers, "get"> {
  return {
    get(name: string): string | null {
      let value: string | null = null;
      for (const [field, v] of head.fields) {
        if (field === name) value = value === null ? v : `${value}, ${v}`;
      }
      return value;
    },
  };
}

/**
 * A cached file read like an open one, so the ordinary send path (ranges,
 * preconditions) works on the bytes in memory.
 */
export class MemoryFile implements FileHandle {
  #file: CachedFile;
  #position = 0;

  /** @param file The cached file. */
  constructor(file: CachedFile) {
    this.#file = file;
  }

  read(p: Uint8Array): Promise<number | null> {
    const body = this.#file.body;
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
      : this.#file.body.length;
    this.#position = Math.max(0, base + offset);
    return Promise.resolve(this.#position);
  }

  stat(): Promise<FileStat> {
    return Promise.resolve(this.#file.stat);
  }

  close(): void {}
}
