/**
 * Helpers shared by the static layer's tests: the fixture root, requests,
 * temporary roots, a recording logger, a counting and a faulty file system,
 * stats and a clock moved by hand. Nothing here starts a server.
 *
 * @module
 */

import { fromFileUrl, join } from "../_deps.ts";

export { concat } from "../_bytes.ts";
import type { Logger } from "../../lib/log.ts";
import {
  denoFileSystem,
  type FileHandle,
  type FileStat,
  type FileSystem,
} from "../../lib/static/fs.ts";

/** The fixture document root: a dotfile, an empty file, nested indexes, odd names. */
export const ROOT = fromFileUrl(new URL("../fixtures/root/", import.meta.url));
/** The media type of HTML files. */
export const HTML = "text/html; charset=utf-8";

/** A fixture file's bytes. */
export function fixture(name: string): Promise<Uint8Array> {
  return Deno.readFile(join(ROOT, name));
}

/** A request for `path` on localhost. */
export function request(path: string, init: RequestInit = {}): Request {
  return new Request(`http://localhost${path}`, init);
}

/** A response's body as bytes. */
export async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Creates a temporary directory with `files`, runs `fn` on it, then removes it. */
export async function withTempDir(
  files: Record<string, string | Uint8Array>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "portico_static_" });
  try {
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, name);
      await Deno.mkdir(join(path, ".."), { recursive: true });
      if (typeof content === "string") await Deno.writeTextFile(path, content);
      else await Deno.writeFile(path, content);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A logger that remembers the faults it is told about. */
export function recordingLogger(): Logger & { errors: [string, unknown][] } {
  const errors: [string, unknown][] = [];
  return { errors, access: () => {}, error: (message, error) => errors.push([message, error]) };
}

/** The real file system, counting opened and closed files. */
export function countingFileSystem(): FileSystem & { opened: number; closed: number } {
  const fs: FileSystem & { opened: number; closed: number } = {
    opened: 0,
    closed: 0,
    realPath: denoFileSystem.realPath,
    stat: denoFileSystem.stat,
    open: async (path: string): Promise<FileHandle> => {
      const file = await denoFileSystem.open(path);
      fs.opened++;
      return {
        read: (p) => file.read(p),
        seek: (offset, whence) => file.seek(offset, whence),
        seekSync: file.seekSync?.bind(file),
        stat: () => file.stat(),
        close: () => {
          fs.closed++;
          file.close();
        },
      };
    },
  };
  return fs;
}

/** Which file-system call fails. */
export type FaultyCall = "realPath" | "stat" | "open" | "read";

/**
 * The real file system, but the first call of one kind for a path ending in
 * `suffix` throws `error` (every such call with `times: Infinity`).
 */
export function faultyFileSystem(
  call: FaultyCall,
  suffix: string,
  error: unknown,
  times = 1,
): FileSystem {
  let left = times;
  const fails = (path: string) => path.endsWith(suffix) && left-- > 0;
  return {
    realPath: (path) =>
      call === "realPath" && fails(path) ? Promise.reject(error) : denoFileSystem.realPath(path),
    stat: (path) =>
      call === "stat" && fails(path) ? Promise.reject(error) : denoFileSystem.stat(path),
    open: async (path) => {
      if (call === "open" && fails(path)) throw error;
      const file = await denoFileSystem.open(path);
      if (call !== "read" || !fails(path)) return file;
      return {
        read: () => Promise.reject(error),
        seek: (offset, whence) => file.seek(offset, whence),
        stat: () => file.stat(),
        close: () => file.close(),
      };
    },
  };
}

/** A regular file's stat. */
export function statOf(
  size: number,
  mtime: number | Date = 1_700_000_000_000,
  more: Partial<FileStat> = {},
): FileStat {
  return {
    isFile: true,
    isDirectory: false,
    size,
    mtime: typeof mtime === "number" ? new Date(mtime) : mtime,
    ino: 1,
    ctime: new Date(0),
    ...more,
  };
}

/** A clock the test moves by hand. */
export function manualClock(): { now: () => number; advance(ms: number): void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => t += ms };
}
