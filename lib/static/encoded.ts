/**
 * A file's encoded representations: where the bytes for a coding come from.
 *
 * - A **precompressed sidecar** next to the file (`app.js.br`, `.zst`,
 *   `.gz`) that is a regular file inside the root and not older than the
 *   file is sent as it is.
 * - Otherwise a **cached** file is compressed once per version and coding,
 *   at the high level up to {@linkcode HIGH_LEVEL_MAX_BYTES}, and the bytes
 *   are kept in the cache (counted in its budget), so later requests cost
 *   what an identity one does.
 * - Otherwise (a file too large for the cache) it is **compressed while it is
 *   streamed**, at a moderate level, with memory bounded by the compressor's
 *   window; the length is not known in advance, so it is sent chunked.
 *
 * Each representation's entity tag is the file's content tag marked with the
 * coding (`policy.ts`), whichever way its bytes were made: a sidecar stands
 * for the same content as the file beside it.
 *
 * @module
 */

import { compressBytes, type CompressionLevel, compressionStream } from "../encoding/compress.ts";
import type { Coding } from "../encoding/negotiate.ts";
import type { Validators } from "./conditional.ts";
import type { CachedFile, CachedRepresentation, FileCache } from "./cache.ts";
import type { FileHandle } from "./fs.ts";
import type { Representation } from "./headers.ts";
import { type ContentPolicy, describe, type FileFacts } from "./policy.ts";
import type { DocumentRoot, Found } from "./root.ts";
import { fileBody } from "./send.ts";
import { MemoryFile, type OpenedFile, readWhole } from "./store.ts";

/**
 * Largest cached file compressed at the high level. Compressing holds the
 * event loop (see `compress.ts`): br quality 11 takes some 40 ms for 64 KiB,
 * so a larger `--cache-file` gets the moderate level rather than pauses of
 * seconds.
 */
export const HIGH_LEVEL_MAX_BYTES = 64 * 1024;

/** The level a cached file of `size` bytes is compressed at. */
function levelFor(size: number): CompressionLevel {
  return size <= HIGH_LEVEL_MAX_BYTES ? "high" : "moderate";
}

/** The file name suffix of each coding's sidecar. */
export const SIDECAR_SUFFIX: Readonly<Record<Coding, string>> = Object.freeze({
  br: ".br",
  zstd: ".zst",
  gzip: ".gz",
});

/** How an encoded representation is sent. */
export type Encoded =
  /** Bytes of known length: a sidecar, or a cached representation (as a file). */
  | { readonly kind: "file"; readonly handle: FileHandle; readonly representation: Representation }
  /** The file compressed while read, of unknown length. */
  | {
    readonly kind: "stream";
    readonly body: ReadableStream<Uint8Array>;
    readonly headers: Headers;
    readonly validators: Validators;
  };

/** What making encoded representations needs. */
export interface EncodingContext {
  /** The root, which sidecars must lie inside. */
  readonly root: DocumentRoot;
  /** Codings and `Cache-Control`. */
  readonly policy: ContentPolicy;
  /** The cache, which keeps what is compressed for cached files. */
  readonly cache: FileCache | null;
  /** Opens sidecars. */
  readonly open: (path: string) => Promise<FileHandle>;
}

/**
 * Makes and remembers encoded representations. A representation being
 * made for a cached file is shared by the requests that ask meanwhile.
 */
export class Encoder {
  readonly #context: EncodingContext;
  #making = new WeakMap<CachedFile, Map<Coding, Promise<CachedRepresentation>>>();

  /** @param context The root, the policy, the cache and how to open sidecars. */
  constructor(context: EncodingContext) {
    this.#context = context;
  }

  /**
   * The representation of an opened file in `coding`. The opened file's
   * handle is closed unless it is the one the result streams from.
   *
   * @param opened The file in identity.
   * @param coding The coding asked for (one of `opened.facts.codings`).
   * @returns How to send it.
   */
  async encode(opened: OpenedFile, coding: Coding): Promise<Encoded> {
    if (opened.cached !== undefined) {
      opened.handle.close();
      const encoded = await this.#cached(opened.cached, opened.facts, coding);
      const representation = {
        status: 200,
        size: encoded.body.length,
        headers: encoded.headers,
        validators: encoded.validators,
      };
      return {
        kind: "file",
        handle: new MemoryFile(encoded.body, opened.facts.stat),
        representation,
      };
    }
    const sidecar = await this.#sidecar(opened.facts, coding);
    const { headers, validators } = describe(this.#context.policy, opened.facts, coding);
    const side = sidecar === null ? null : await this.#openSidecar(sidecar);
    if (side !== null) {
      opened.handle.close();
      const representation = { status: 200, size: side.size, headers, validators };
      return { kind: "file", handle: side.handle, representation };
    }
    const body = fileBody(opened.handle, opened.facts.stat.size)
      .pipeThrough(compressionStream(coding, "moderate"));
    return { kind: "stream", body, headers, validators };
  }

  #cached(file: CachedFile, facts: FileFacts, coding: Coding): Promise<CachedRepresentation> {
    const ready = file.encoded.get(coding);
    if (ready !== undefined) return Promise.resolve(ready);
    let making = this.#making.get(file);
    if (making === undefined) {
      making = new Map();
      this.#making.set(file, making);
    }
    let pending = making.get(coding);
    if (pending === undefined) {
      pending = this.#make(file, facts, coding).finally(() => making.delete(coding));
      making.set(coding, pending);
    }
    return pending;
  }

  async #make(file: CachedFile, facts: FileFacts, coding: Coding): Promise<CachedRepresentation> {
    const sidecar = await this.#sidecar(facts, coding);
    const body = (sidecar !== null ? await this.#readSidecar(sidecar) : null) ??
      await compressBytes(coding, file.body, levelFor(file.body.length));
    const representation = { coding, body, ...describe(this.#context.policy, facts, coding) };
    this.#context.cache?.addEncoded(file, representation);
    return representation;
  }

  /** The coding's sidecar of the file, if it is a regular file in the root and not older. */
  async #sidecar(facts: FileFacts, coding: Coding): Promise<Found | null> {
    const path = facts.path + SIDECAR_SUFFIX[coding];
    let found: Found | null;
    try {
      found = await this.#context.root.find(path);
    } catch {
      return null; // An unreadable sidecar is no sidecar: the file is compressed instead.
    }
    if (found === null || !found.stat.isFile) return null;
    const fileTime = facts.stat.mtime?.getTime() ?? 0;
    const sidecarTime = found.stat.mtime?.getTime() ?? -1;
    return sidecarTime >= fileTime ? found : null;
  }

  /**
   * A sidecar opened to be streamed, with its size as the open file says;
   * null when it cannot be opened (the file is compressed instead).
   */
  async #openSidecar(sidecar: Found): Promise<{ handle: FileHandle; size: number } | null> {
    let handle: FileHandle | undefined;
    try {
      handle = await this.#context.open(sidecar.path);
      return { handle, size: (await handle.stat()).size };
    } catch {
      handle?.close();
      return null;
    }
  }

  /** A small sidecar's bytes for the cache; null when it is too large or unreadable. */
  async #readSidecar(sidecar: Found): Promise<Uint8Array | null> {
    const opened = await this.#openSidecar(sidecar);
    if (opened === null) return null;
    try {
      if (this.#context.cache?.accepts(opened.size) !== true) return null;
      return await readWhole(opened.handle, opened.size);
    } catch {
      return null;
    } finally {
      opened.handle.close();
    }
  }
}
