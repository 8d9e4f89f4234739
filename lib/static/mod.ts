/**
 * The static layer's public API: serve a folder of files as a Fetch handler
 * or a lookup, and the pieces a server builds on (the cache a prepared-bytes
 * fast path reads, the file sender and its body source).
 *
 * @example
 * ```ts
 * import { serveStatic } from "./mod.ts";
 * const files = serveStatic("www");
 * const response = await files(new Request("http://localhost/"));
 * ```
 *
 * @module
 */

export { type CachedFile, type CacheLimits, DEFAULT_CACHE_LIMITS, FileCache } from "./cache.ts";
export { evaluatePreconditions, type Validators } from "./conditional.ts";
export { denoFileSystem, type FileHandle, type FileStat, type FileSystem } from "./fs.ts";
export { fileHeaders, notModifiedHeaders, type Representation } from "./headers.ts";
export {
  STATIC_ALLOW,
  type StaticHandler,
  type StaticInfo,
  type StaticLookup,
  type StaticMiss,
  type StaticOptions,
} from "./options.ts";
export { FileSource, READ_CHUNK_BYTES, sendFile } from "./send.ts";
export { serveStatic, staticLookup, type StaticSite, staticSite } from "./site.ts";
export { MemoryFile } from "./store.ts";
