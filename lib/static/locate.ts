/**
 * Which file answers a resolved path: the file itself, a directory's index,
 * a page found by its clean URL, a directory's listing, a redirect to the
 * path's canonical form, or nothing. The decision is a pure function of
 * what was found ({@linkcode chooseTarget}); {@linkcode locate} asks the root
 * for those facts.
 *
 * @module
 */

import { join } from "../deps.ts";
import { canonicalPath, type StaticPath } from "./resolve.ts";
import type { DocumentRoot, Found } from "./root.ts";

/** How trailing slashes are treated for directories and pages. */
export const TRAILING_SLASH = ["auto", "always", "never", "as-is"] as const;

/**
 * `auto`: a directory gets its `/` by redirect and a page has none (the
 * default); `always`: pages (with clean URLs) get one too; `never`: a
 * directory's `/` is removed by redirect and it is served without; `as-is`:
 * both forms are served, nothing is redirected.
 */
export type TrailingSlash = (typeof TRAILING_SLASH)[number];

/** Where a path leads. */
export type Location =
  /** Send this file; `name` (its own or the index's) gives its media type. */
  | { readonly kind: "file"; readonly found: Found; readonly name: string }
  /** Redirect to this path, the path's canonical form (query not included). */
  | { readonly kind: "redirect"; readonly location: string }
  /** A directory with no index, to be listed (its path ends in `/`). */
  | { readonly kind: "directory"; readonly found: Found }
  /** Nothing to send. */
  | { readonly kind: "missing" };

/** How paths map to files: the index's name, clean URLs, trailing slashes and listings. */
export interface Layout {
  /** The file served for a directory. */
  readonly index: string;
  /** Whether `/about` is answered by `about.html` (and `/about.html` redirected to `/about`). */
  readonly cleanUrls: boolean;
  /** How trailing slashes are treated for directories and pages. */
  readonly trailingSlash: TrailingSlash;
  /** Whether a directory without an index is listed. */
  readonly list: boolean;
}

/** Today's layout: `index.html`, no clean URLs, directories with a `/`, no listings. */
export const DEFAULT_LAYOUT: Layout = Object.freeze({
  index: "index.html",
  cleanUrls: false,
  trailingSlash: "auto",
  list: false,
});

/** What lies at a path: the path itself, a directory's index, and its clean-URL page. */
export interface Facts {
  /** What the path names, or null. */
  readonly target: Found | null;
  /** The directory's index when `target` is a directory, or null. */
  readonly index: Found | null;
  /** With clean URLs, `<path>.html` when it exists (looked up only when it can answer), or null. */
  readonly page: Found | null;
}

const MISSING: Location = Object.freeze({ kind: "missing" });

/**
 * Decides what answers a path from what lies there, in this order:
 *
 * 1. With clean URLs, a request for an existing `name.html` is redirected
 *    to `name` (`index.html` to its directory).
 * 2. A directory is answered through its index, which must be a regular
 *    file. Its canonical form ends in `/` (`auto`, `always`) or not
 *    (`never`); the other form is redirected, so that relative links in the
 *    index resolve against the directory. `as-is` serves both.
 * 3. With clean URLs, `name.html` answers `name`. When a directory `name`
 *    with an index exists too, each keeps one form whatever the policy:
 *    `/about/` is the index, `/about` the page. Otherwise the page's canonical form has no `/` (`auto`, `never`) or one
 *    (`always`); `as-is` serves both.
 * 4. A directory without an index is listed when listings are on, always
 *    at its path with `/`.
 * 5. A path with a trailing `/` that names a file names nothing
 *    (`/file.txt/`), except with `never`, which redirects it to the file.
 * 6. Anything but a regular file (a device, a socket) is not served.
 *
 * @param path The resolved request path.
 * @param facts What lies there.
 * @param layout The index's name, clean URLs, the slash policy and listings.
 * @returns The location.
 *
 * @example
 * ```ts
 * const dir = { path: "/srv/docs", stat: { isFile: false, isDirectory: true, size: 0, mtime: null, ino: null, ctime: null } };
 * const index = { path: "/srv/docs/index.html", stat: { ...dir.stat, isFile: true, isDirectory: false } };
 * chooseTarget({ kind: "file", segments: ["docs"], directory: false }, { target: dir, index, page: null }, DEFAULT_LAYOUT);
 * // { kind: "redirect", location: "/docs/" }
 * ```
 */
export function chooseTarget(path: StaticPath, facts: Facts, layout: Layout): Location {
  const { target, index, page } = facts;
  const isFile = target?.stat.isFile === true;
  if (layout.cleanUrls && isFile && !path.directory && isHtmlName(path.segments.at(-1))) {
    return { kind: "redirect", location: cleanLocation(path.segments, layout) };
  }
  const pageServed = page?.stat.isFile
    ? { kind: "file", found: page, name: `${path.segments.at(-1)}.html` } as const
    : null;
  if (target?.stat.isDirectory && index?.stat.isFile) {
    // Both a directory's index and a page of its name: each keeps its own form.
    if (pageServed !== null && !path.directory) return pageServed;
    const canonical = layout.trailingSlash !== "never" || path.segments.length === 0;
    const served = { kind: "file", found: index, name: layout.index } as const;
    return slashed(path, canonical, layout.trailingSlash, served);
  }
  if (pageServed !== null) {
    return slashed(path, layout.trailingSlash === "always", layout.trailingSlash, pageServed);
  }
  if (target?.stat.isDirectory) {
    if (!layout.list) return MISSING;
    if (path.directory || layout.trailingSlash === "as-is") {
      return { kind: "directory", found: target };
    }
    return { kind: "redirect", location: canonicalPath(path.segments, true) };
  }
  if (!isFile || target === null) return MISSING;
  const served = { kind: "file", found: target, name: path.segments.at(-1) ?? "" } as const;
  if (!path.directory) return served;
  return layout.trailingSlash === "never"
    ? { kind: "redirect", location: canonicalPath(path.segments, false) }
    : MISSING;
}

/**
 * The location when a path's canonical form ends in `/` or not: what is
 * served in that form (and in both with `as-is`), else a redirect to it.
 */
function slashed(
  path: StaticPath,
  withSlash: boolean,
  policy: TrailingSlash,
  served: Location,
): Location {
  if (path.directory === withSlash || policy === "as-is") return served;
  return { kind: "redirect", location: canonicalPath(path.segments, withSlash) };
}

/** Whether a name is an HTML page's that clean URLs hide (`about.html`). */
function isHtmlName(name: string | undefined): name is string {
  return name !== undefined && name.length > 5 && name.endsWith(".html");
}

/** The clean URL of an HTML file's path: without `.html`, and `index.html` as its directory. */
function cleanLocation(segments: readonly string[], layout: Layout): string {
  const name = segments.at(-1) ?? "";
  if (name === layout.index) return canonicalPath(segments.slice(0, -1), true);
  const clean = [...segments.slice(0, -1), name.slice(0, -".html".length)];
  return canonicalPath(clean, layout.trailingSlash === "always");
}

/**
 * Finds what a resolved path leads to under the root: the path, a
 * directory's index, and with clean URLs the `.html` page of the same name
 * (only looked up when it can answer).
 *
 * @param root The document root.
 * @param path The resolved request path.
 * @param layout The index's name, clean URLs, the slash policy and listings.
 * @returns The location.
 * @throws What the file system throws for anything but a missing file.
 *
 * @example
 * ```ts
 * import { denoFileSystem } from "./fs.ts";
 * import { DocumentRoot } from "./root.ts";
 *
 * const root = new DocumentRoot("www", denoFileSystem);
 * await locate(root, { kind: "file", segments: [], directory: true }, DEFAULT_LAYOUT);
 * // { kind: "file", found: { path: ".../www/index.html", stat }, name: "index.html" }
 * ```
 */
export async function locate(
  root: DocumentRoot,
  path: StaticPath,
  layout: Layout,
): Promise<Location> {
  const candidate = join(root.path, ...path.segments);
  const target = await root.find(candidate);
  const index = target?.stat.isDirectory ? await root.find(join(candidate, layout.index)) : null;
  const wantsPage = layout.cleanUrls && path.segments.length > 0 && !target?.stat.isFile &&
    (!index?.stat.isFile || !path.directory);
  const page = wantsPage ? await root.find(`${candidate}.html`) : null;
  return chooseTarget(path, { target, index, page }, layout);
}
