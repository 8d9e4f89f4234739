/**
 * The file-system calls the static layer makes, behind an interface so tests
 * can inject faults, and their Deno implementation.
 *
 * @module
 */

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
}

/** An open file. */
export interface FileHandle {
  /** Reads into `p`; null at end of file. */
  read(p: Uint8Array): Promise<number | null>;
  /** Moves to an absolute offset. */
  seek(offset: number, whence: Deno.SeekMode): Promise<number>;
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
}

/** The real file system through `Deno`. */
export const denoFileSystem: FileSystem = {
  realPath: (path) => Deno.realPath(path),
  stat: (path) => Deno.stat(path),
  open: (path) => Deno.open(path, { read: true }),
};

/**
 * Whether an error means "there is no such file" (as opposed to a fault).
 *
 * @param error Anything thrown by a {@linkcode FileSystem} call.
 * @returns True for not-found, not-a-directory and over-long names.
 */
export function isNotFound(error: unknown): boolean {
  if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
    return true;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG";
}

/**
 * Whether an error means the process or the system has run out of file
 * descriptors (`EMFILE`, `ENFILE`), which passes as soon as some close.
 *
 * @param error Anything thrown by a {@linkcode FileSystem} call.
 * @returns True for those two.
 */
export function isOutOfDescriptors(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EMFILE" || code === "ENFILE";
}
