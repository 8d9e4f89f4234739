/**
 * Containment: what a path under the document root really is, after every
 * symlink is resolved, and whether it still lies under the root's own real
 * path. A symlink may point anywhere; only what really lies under the root
 * is served.
 *
 * @module
 */

import { resolve, SEPARATOR } from "../deps.ts";
import { type FileStat, type FileSystem, isNotFound } from "./fs.ts";
import type { OpenFiles } from "./open_files.ts";

/** A file found under the root: its real path and its metadata. */
export interface Found {
  /** The real path, every symlink resolved. */
  readonly path: string;
  /** Its metadata (following symlinks). */
  readonly stat: FileStat;
}

/**
 * Whether a real path is the root or lies below it. Compared with a
 * separator, so `/srv/www-private` is not inside `/srv/www`.
 *
 * @param root The root's real path.
 * @param real A real path.
 * @returns True when `real` is `root` or below it.
 *
 * @example
 * ```ts
 * isWithin("/srv/www", "/srv/www/a.html"); // true
 * isWithin("/srv/www", "/srv/www-private/a.html"); // false
 * ```
 */
export function isWithin(root: string, real: string): boolean {
  const prefix = root.endsWith(SEPARATOR) ? root : root + SEPARATOR;
  return real === root || real.startsWith(prefix);
}

/**
 * A document root: its absolute path, and its real path learnt once (and
 * asked again after a failure, which may pass: out of descriptors, a
 * remount).
 *
 * @example
 * ```ts
 * import { join } from "../deps.ts";
 * import { denoFileSystem } from "./fs.ts";
 *
 * const root = new DocumentRoot("www", denoFileSystem);
 * const found = await root.find(join(root.path, "index.html"));
 * ```
 */
export class DocumentRoot {
  /** The root as given, made absolute. */
  readonly path: string;
  readonly #fs: FileSystem;
  readonly #openFiles: OpenFiles | null;
  #real: Promise<string> | null = null;

  /**
   * @param root The document root; a relative path is resolved against the working directory.
   * @param fs The file system.
   * @param openFiles Recent lookups of larger files, trusted instead of the disk; null for none.
   */
  constructor(root: string, fs: FileSystem, openFiles: OpenFiles | null = null) {
    this.path = resolve(root);
    this.#fs = fs;
    this.#openFiles = openFiles;
  }

  /**
   * Finds what `path` names.
   *
   * @param path An absolute path under {@linkcode DocumentRoot.path}.
   * @returns Its real path and metadata, or null when nothing is there or it lies outside the root.
   * @throws What the file system throws for anything but a missing file.
   */
  async find(path: string): Promise<Found | null> {
    const known = this.#openFiles?.found(path);
    if (known !== undefined) return known;
    const found = await this.#findOnDisk(path);
    this.#openFiles?.remember(path, found, this.#openFiles.previous(path));
    return found;
  }

  async #findOnDisk(path: string): Promise<Found | null> {
    const root = await this.#realRoot();
    let real: string;
    let stat: FileStat;
    try {
      real = await this.#fs.realPath(path);
      if (!isWithin(root, real)) return null;
      stat = await this.#fs.stat(real);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    return { path: real, stat };
  }

  async #realRoot(): Promise<string> {
    this.#real ??= this.#fs.realPath(this.path);
    try {
      return await this.#real;
    } catch (error) {
      this.#real = null; // Ask again next time: the failure may pass.
      throw error;
    }
  }
}
