/**
 * The open-file cache, for the files the hot cache does not keep (larger
 * than `--cache-file`): what a path was found to be, and open handles of
 * those files, kept for the next request as nginx's `open_file_cache` keeps
 * them. A request for a large file then costs no `realpath`, `stat`, `open`
 * or `fstat`: only the reads of its bytes.
 *
 * Both are trusted for {@linkcode REVALIDATE_MS}, like the hot cache's
 * routes: a file replaced or deleted on disk is served as it was for at
 * most that long. A handle is kept for one version of a file (its size,
 * modification time and inode), is lent to one response at a time, and is
 * closed as soon as the file is found changed. At most `openFiles` lookups
 * and `openFiles` idle handles are kept; the oldest go first.
 *
 * @module
 */

import { REVALIDATE_MS } from "./cache.ts";
import type { FileHandle, FileStat } from "./fs.ts";
import type { Found } from "./root.ts";

/** A lookup, and when it was made. */
interface KnownPath {
  readonly found: Found;
  readonly checkedAt: number;
}

/** An idle handle, and the version of the file it was opened on. */
interface IdleHandle {
  readonly handle: FileHandle;
  readonly stat: FileStat;
}

/** Whether two readings of a file's metadata describe the same version of it. */
function sameVersion(a: FileStat, b: FileStat): boolean {
  return a.size === b.size && a.ino === b.ino && a.mtime?.getTime() === b.mtime?.getTime() &&
    a.ctime?.getTime() === b.ctime?.getTime();
}

/** Closes a handle, ignoring one that is already closed. */
function closeQuietly(handle: FileHandle): void {
  try {
    handle.close();
  } catch {
    // Already closed.
  }
}

/**
 * Lookups and idle open handles of large files, bounded and revalidated.
 *
 * @example
 * ```ts
 * const files = new OpenFiles(256, 64 * 1024);
 * const path = await Deno.realPath("www/index.html");
 * const found = { path, stat: await Deno.stat(path) };
 * const handle = files.take(found) ?? await Deno.open(path);
 * const lent = files.lend(found, handle);
 * lent.close(); // kept open for the next request
 * files.clear();
 * ```
 */
export class OpenFiles {
  /** Set by `close()`: returned handles are closed, not kept. */
  #closed = false;
  readonly #max: number;
  readonly #minBytes: number;
  readonly #revalidateMs: number;
  readonly #now: () => number;
  readonly #known = new Map<string, KnownPath>();
  readonly #idle = new Map<string, IdleHandle[]>();
  #idleCount = 0;

  /**
   * @param max Most lookups kept, and most idle handles kept (`--open-files`); 0 keeps none.
   * @param minBytes Files of this size or less are the hot cache's: their lookups are not kept.
   * @param revalidateMs How long a lookup and its handles are trusted.
   * @param now The clock, in milliseconds (monotonic).
   */
  constructor(
    max: number,
    minBytes: number,
    revalidateMs: number = REVALIDATE_MS,
    now: () => number = () => performance.now(),
  ) {
    this.#max = max;
    this.#minBytes = minBytes;
    this.#revalidateMs = revalidateMs;
    this.#now = now;
  }

  /** How many idle handles are open. */
  get idle(): number {
    return this.#idleCount;
  }

  /**
   * What `path` was found to be, when that was looked up recently enough.
   *
   * @param path The path looked up.
   * @returns The file, or undefined when it must be looked up on disk.
   */
  found(path: string): Found | undefined {
    const known = this.#known.get(path);
    if (known === undefined) return undefined;
    return this.#now() - known.checkedAt < this.#revalidateMs ? known.found : undefined;
  }

  /**
   * Remembers a lookup made on disk. A file that is no longer there (found
   * null) or no longer the version whose handles are kept has them closed.
   *
   * @param path The path looked up.
   * @param found What it is now, or null when nothing is there.
   * @param previous What it was found to be before, if that was known.
   */
  remember(path: string, found: Found | null, previous?: Found): void {
    if (previous !== undefined && (found === null || !sameVersion(previous.stat, found.stat))) {
      this.#closeIdle(previous.path);
    }
    if (found === null || !found.stat.isFile || found.stat.size <= this.#minBytes) {
      this.#known.delete(path);
      return;
    }
    if (this.#max === 0) return;
    this.#known.delete(path);
    this.#known.set(path, { found, checkedAt: this.#now() });
    if (this.#known.size > this.#max) this.#known.delete(this.#known.keys().next().value!);
  }

  /**
   * The lookup of `path` that has expired, if any: what {@linkcode remember}
   * compares the new lookup with.
   *
   * @param path The path looked up.
   * @returns The last lookup, fresh or not.
   */
  previous(path: string): Found | undefined {
    return this.#known.get(path)?.found;
  }

  /**
   * An idle handle of this version of the file, at offset 0; handles of
   * other versions are closed.
   *
   * @param found The file, as just found.
   * @returns A handle to lend, or null when one must be opened.
   */
  take(found: Found): FileHandle | null {
    const list = this.#idle.get(found.path);
    while (list !== undefined && list.length > 0) {
      const { handle, stat } = list.pop()!;
      this.#idleCount--;
      if (list.length === 0) this.#idle.delete(found.path);
      if (sameVersion(stat, found.stat) && rewind(handle)) return handle;
      closeQuietly(handle);
    }
    return null;
  }

  /**
   * The handle as one response uses it: closing it gives it back, to be
   * lent again, unless enough handles are idle already.
   *
   * @param found The file and the version the handle was opened on.
   * @param handle An open handle of it.
   * @returns A handle whose `close()` keeps it open for the next response.
   */
  lend(found: Found, handle: FileHandle): FileHandle {
    if (this.#max === 0) return handle;
    let returned = false;
    // A response reads only the bytes the file had: an early end or a failure
    // means the file changed or broke, and the handle is not worth keeping.
    let failed = false;
    const fail = () => {
      failed = true;
    };
    return {
      read: (p) =>
        handle.read(p).then((n) => {
          if (n === null) fail();
          return n;
        }, (error) => {
          fail();
          throw error;
        }),
      seek: (offset, whence) => handle.seek(offset, whence),
      stat: () => handle.stat(),
      close: () => {
        if (returned) return;
        returned = true;
        if (failed) closeQuietly(handle);
        else this.#keep(found, handle);
      },
    };
  }

  /** Closes every idle handle and forgets every lookup. */
  clear(): void {
    for (const path of [...this.#idle.keys()]) this.#closeIdle(path);
    this.#known.clear();
  }

  /**
   * Closes every idle handle and keeps none from now on: a handle lent
   * before is closed when it is returned (for a site that was replaced).
   */
  close(): void {
    this.#closed = true;
    this.clear();
  }

  /** Keeps a returned handle, closing the oldest idle one when over the limit. */
  #keep(found: Found, handle: FileHandle): void {
    if (this.#closed) {
      closeQuietly(handle);
      return;
    }
    const list = this.#idle.get(found.path) ?? [];
    list.push({ handle, stat: found.stat });
    this.#idle.delete(found.path); // Re-inserted last: the most recently used.
    this.#idle.set(found.path, list);
    this.#idleCount++;
    while (this.#idleCount > this.#max) {
      const [oldest, handles] = this.#idle.entries().next().value!;
      closeQuietly(handles.shift()!.handle);
      this.#idleCount--;
      if (handles.length === 0) this.#idle.delete(oldest);
    }
  }

  #closeIdle(path: string): void {
    const list = this.#idle.get(path);
    if (list === undefined) return;
    for (const { handle } of list) closeQuietly(handle);
    this.#idleCount -= list.length;
    this.#idle.delete(path);
  }
}

/** Moves a handle back to offset 0 without an asynchronous call when it can; false on failure. */
function rewind(handle: FileHandle): boolean {
  try {
    if (handle.seekSync === undefined) return false;
    return handle.seekSync(0, Deno.SeekMode.Start) === 0;
  } catch {
    return false;
  }
}
