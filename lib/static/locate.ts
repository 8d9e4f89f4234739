/**
 * Which file answers a resolved path: the file itself, a directory's index,
 * a redirect that adds the missing `/`, or nothing. The decision is a pure
 * function of what was found ({@linkcode chooseTarget}); {@linkcode locate}
 * asks the root for those facts.
 *
 * @module
 */

import { join } from "../deps.ts";
import { canonicalPath, type StaticPath } from "./resolve.ts";
import type { DocumentRoot, Found } from "./root.ts";

/** Where a path leads. */
export type Location =
  /** Send this file; `name` (its own or the index's) gives its media type. */
  | { readonly kind: "file"; readonly found: Found; readonly name: string }
  /** A directory asked for without its `/`: redirect to this path (query not included). */
  | { readonly kind: "redirect"; readonly location: string }
  /** Nothing to send. */
  | { readonly kind: "missing" };

const MISSING: Location = Object.freeze({ kind: "missing" });

/**
 * Decides what answers a path from what lies there.
 *
 * - A directory is answered only through its index, which must be a regular
 *   file; asked for without a trailing `/`, it is redirected first, so that
 *   relative links in the index resolve against the directory.
 * - A path with a trailing `/` that names a file names a directory that does
 *   not exist (`/file.html/`).
 * - Anything but a regular file (a device, a socket) is not served.
 *
 * @param path The resolved request path.
 * @param target What the path names, or null.
 * @param index The directory's index when `target` is a directory, or null.
 * @param indexName The index's file name.
 * @returns The location.
 *
 * @example
 * ```ts
 * const dir = { path: "/srv/docs", stat: { isFile: false, isDirectory: true, size: 0, mtime: null, ino: null, ctime: null } };
 * const index = { path: "/srv/docs/index.html", stat: { ...dir.stat, isFile: true, isDirectory: false } };
 * chooseTarget({ kind: "file", segments: ["docs"], directory: false }, dir, index, "index.html");
 * // { kind: "redirect", location: "/docs/" }
 * ```
 */
export function chooseTarget(
  path: StaticPath,
  target: Found | null,
  index: Found | null,
  indexName: string,
): Location {
  if (target === null) return MISSING;
  if (target.stat.isDirectory) {
    if (index === null || !index.stat.isFile) return MISSING;
    if (!path.directory) {
      return { kind: "redirect", location: canonicalPath(path.segments, true) };
    }
    return { kind: "file", found: index, name: indexName };
  }
  if (path.directory || !target.stat.isFile) return MISSING;
  return { kind: "file", found: target, name: path.segments.at(-1) ?? "" };
}

/**
 * Finds what a resolved path leads to under the root.
 *
 * @param root The document root.
 * @param path The resolved request path.
 * @param indexName The file served for a directory.
 * @returns The location.
 * @throws What the file system throws for anything but a missing file.
 *
 * @example
 * ```ts
 * import { denoFileSystem } from "./fs.ts";
 * import { DocumentRoot } from "./root.ts";
 *
 * const root = new DocumentRoot("www", denoFileSystem);
 * await locate(root, { kind: "file", segments: [], directory: true }, "index.html");
 * // { kind: "file", found: { path: ".../www/index.html", stat }, name: "index.html" }
 * ```
 */
export async function locate(
  root: DocumentRoot,
  path: StaticPath,
  indexName: string,
): Promise<Location> {
  const candidate = join(root.path, ...path.segments);
  const target = await root.find(candidate);
  const index = target?.stat.isDirectory ? await root.find(join(candidate, indexName)) : null;
  return chooseTarget(path, target, index, indexName);
}
