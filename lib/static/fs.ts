/**
 * The file-system calls the static layer makes, behind an interface so tests
 * can inject faults; their Deno implementation; and the one mapping from a
 * file-system error to what the request is answered with.
 *
 * @module
 */

import { HttpError } from "../errors.ts";

/** What the static layer needs to know about a file. */
export interface FileStat {
  /** A regular file. */
  readonly isFile: boolean;
  /** A directory. */
  readonly isDirectory: boolean;
  /** Size in bytes. */
  readonly size: number;
  /** Last modification time, when the system reports it. */
  readonly mtime: Date | null;
  /** The inode number, when the system reports it (a file replaced by rename gets a new one). */
  readonly ino: number | null;
  /** Last status change (any write, rename or chmod), when the system reports it. */
  readonly ctime: Date | null;
}

/** An open file. */
export interface FileHandle {
  /** Reads into `p`; null at end of file. */
  read(p: Uint8Array): Promise<number | null>;
  /** Moves to an absolute offset. */
  seek(offset: number, whence: Deno.SeekMode): Promise<number>;
  /** The same without waiting, when the handle can (an open file can: `lseek` does no I/O). */
  seekSync?(offset: number, whence: Deno.SeekMode): number;
  /** Metadata of the open file (not of whatever the path names now). */
  stat(): Promise<FileStat>;
  /** Releases the file. */
  close(): void;
}

/** The file-system operations the static layer uses. */
export interface FileSystem {
  /** The canonical path with every symlink resolved. */
  realPath(path: string): Promise<string>;
  /** Metadata of the file a path names (following symlinks). */
  stat(path: string): Promise<FileStat>;
  /** Opens a file for reading. */
  open(path: string): Promise<FileHandle>;
  /** The entries of a directory, in the order the system gives them (without `.` and `..`). */
  readDir?(
    path: string,
  ): AsyncIterable<{ name: string; isFile: boolean; isDirectory: boolean; isSymlink: boolean }>;
}

/**
 * The real file system through `Deno`.
 *
 * @example
 * ```ts
 * const stat = await denoFileSystem.stat("www/index.html");
 * stat.isFile; // true
 * ```
 */
export const denoFileSystem: FileSystem = {
  realPath: (path) => Deno.realPath(path),
  stat: (path) => Deno.stat(path),
  open: (path) => Deno.open(path, { read: true }),
  readDir: (path) => Deno.readDir(path),
};

/** Codes of errors that mean "there is no such file here". */
const MISSING_CODES: ReadonlySet<unknown> = new Set(["ENOENT", "ENOTDIR", "ENAMETOOLONG"]);
/** Codes of errors that mean the process may not read the file. */
const DENIED_CODES: ReadonlySet<unknown> = new Set(["EACCES", "EPERM"]);
/** Codes of errors that mean the process or the system is out of file descriptors. */
const EXHAUSTED_CODES: ReadonlySet<unknown> = new Set(["EMFILE", "ENFILE"]);

/**
 * What a file-system error means for the request, decided in this one place:
 *
 * - not found, not a directory, name too long: nothing is there, a 404 (the
 *   static layer reports it as a miss, so an application may answer instead);
 * - permission denied: 403. darkhttpd answers 404 so that hidden files look
 *   absent; here what must stay hidden (dotfiles, paths out of the root,
 *   symlinks leading out) is refused before the disk is asked, so what is
 *   left is a file the operator put under the root and cannot read, and,
 *   like nginx and Go's `net/http`, saying so points them at the cause
 *   instead of at a file that seems to have gone;
 * - too many open files (`EMFILE`, `ENFILE`): 503 with `Retry-After: 1`, as
 *   it passes as soon as some close;
 * - anything else: null, a fault, which the caller reports and answers with
 *   500 (through `errorToResponse`).
 *
 * @param error Anything thrown by a {@linkcode FileSystem} call.
 * @returns The error to answer with, or null for a fault.
 *
 * @example
 * ```ts
 * fileErrorToHttp(new Deno.errors.NotFound("gone"))?.status; // 404
 * fileErrorToHttp(new Error("EIO")); // null
 * ```
 */
export function fileErrorToHttp(error: unknown): HttpError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (
    error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
    MISSING_CODES.has(code)
  ) {
    return new HttpError(404);
  }
  if (error instanceof Deno.errors.PermissionDenied || DENIED_CODES.has(code)) {
    return new HttpError(403);
  }
  if (EXHAUSTED_CODES.has(code)) return new HttpError(503, undefined, { "retry-after": "1" });
  return null;
}

/**
 * Whether an error means "there is no such file" (see {@linkcode fileErrorToHttp}).
 *
 * @param error Anything thrown by a {@linkcode FileSystem} call.
 * @returns True for not-found, not-a-directory and over-long names.
 */
export function isNotFound(error: unknown): boolean {
  return fileErrorToHttp(error)?.status === 404;
}
