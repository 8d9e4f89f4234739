/**
 * Directory listings: a Fetch handler that answers a request for a
 * directory with its entries, as an HTML page or as JSON.
 *
 * ## What is listed
 *
 * Regular files and directories, and symlinks to them whose real path lies
 * under the document root (when one is given). Names starting with `.` are
 * left out unless asked for, and so is anything the caller hides. A symlink
 * that leads nowhere, out of the root or in a loop is left out, and so is an
 * entry that vanishes between being read and being stat'ed. An error on the
 * directory itself (missing, not a directory, not readable) is thrown by
 * {@linkcode listingResponse} before any response exists, for the caller to
 * map.
 *
 * ## Streaming and memory
 *
 * The body is produced while the directory is read: entries are stat'ed in
 * small concurrent batches and kept as compact records. Sorting needs every
 * record, so at most `maxSorted` are kept; a directory with more is sent in
 * the order the system gives its entries, the records already read first,
 * then each batch as it is stat'ed, and the page says so (and offers no sort
 * links). Memory is bounded by `maxSorted`, not by the directory's size.
 *
 * ## The page
 *
 * The HTML page needs no script (its policy allows none) and no other
 * request: its styles are inline, after the default site's. The table has a
 * caption, column headers that are sort links (`?sort=name|size|modified&
 * order=asc|desc`, the current one marked with `aria-sort`), folders first
 * with a trailing `/`, a `../` row except at `/`, sizes in binary units
 * with the exact byte count, and times in UTC. Every name is escaped for
 * HTML and linked as `./` plus its percent-encoding, so that names with
 * `?`, `#`, `:` or `%` lead to themselves.
 *
 * @module
 */

import { join } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { escapeHtml } from "../http/error_page.ts";
import { denoFileSystem, type FileSystem, isNotFound } from "../static/fs.ts";
import { isWithin } from "../static/root.ts";

/** The directory a listing is for. */
export interface ListedDirectory {
  /** Its absolute path on the file system. */
  readonly path: string;
  /** The request's path, raw (percent-encoded as received), ending with `/`. */
  readonly urlPath: string;
}

/** How a directory is listed. */
export interface ListingOptions {
  /** The file system; it must have `readDir`. Default: the real one. */
  readonly fs?: FileSystem;
  /** The document root's real path: symlinks whose real path lies outside it are not listed. */
  readonly root?: string;
  /** List names starting with `.`. Default false. */
  readonly dotfiles?: boolean;
  /** Names not listed besides dotfiles (`_headers` at the root, say). */
  readonly hide?: (name: string) => boolean;
  /** How many entries are sorted; a larger directory is listed in directory order. */
  readonly maxSorted?: number;
}

/**
 * How many entries a listing sorts unless told: more are sent in directory
 * order. Each entry waiting to be sorted is held as a small record: its
 * name, whether it is a folder, its size and its time.
 *
 * @example
 * ```ts
 * listingResponse(request, directory, { maxSorted: DEFAULT_MAX_SORTED * 2 });
 * ```
 */
export const DEFAULT_MAX_SORTED = 10_000;

/** How many entries are stat'ed at once. */
const STAT_BATCH = 32;

/** How many sorted rows go into one chunk of the body. */
const ROWS_PER_CHUNK = 100;

/**
 * The `Content-Security-Policy` of the HTML page: inline styles and `data:`
 * images, nothing else; in particular no script.
 *
 * @example
 * ```ts
 * response.headers.get("content-security-policy") === LISTING_CSP; // for an HTML listing
 * ```
 */
export const LISTING_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; " +
  "form-action 'none'";

/** What a listing can be sent as. */
type Format = "html" | "json";

/** The keys a listing can be sorted by, the first being the default. */
const SORT_KEYS = ["name", "size", "modified"] as const;
/** The orders, the first being the default. */
const SORT_ORDERS = ["asc", "desc"] as const;

type SortKey = (typeof SORT_KEYS)[number];
type SortOrder = (typeof SORT_ORDERS)[number];

/** The order a listing is sent in, from the query (`?sort=size&order=desc`). */
interface Sort {
  readonly key: SortKey;
  readonly order: SortOrder;
}

/** An entry as kept between being stat'ed and being sent: as small as it can be. */
interface EntryRecord {
  readonly name: string;
  readonly directory: boolean;
  /** Size in bytes; 0 for a directory. */
  readonly size: number;
  /** Modification time in milliseconds since the epoch; NaN when unknown. */
  readonly modified: number;
}

/** A directory entry as `readDir` yields it. */
interface DirEntry {
  readonly name: string;
  readonly isSymlink: boolean;
}

/** What reading and stat'ing the entries needs. */
interface ReadContext {
  readonly fs: FileSystem;
  readonly directory: string;
  readonly root: string | undefined;
  readonly dotfiles: boolean;
  readonly hide: ((name: string) => boolean) | undefined;
}

/** What the renderers need to know about the listing. */
interface ListingView {
  /** The directory's path as text (percent-decoded). */
  readonly path: string;
  readonly sort: Sort;
  readonly maxSorted: number;
  /** Whether a `../` row is shown (everywhere but `/`). */
  readonly parent: boolean;
}

/**
 * One format's pieces: what comes before the entries are read, the table's
 * start once it is known whether they are sorted, rows, and the end.
 */
interface Renderer {
  readonly headers: Readonly<Record<string, string>>;
  begin(view: ListingView): string;
  table(view: ListingView, sorted: boolean): string;
  rows(records: readonly EntryRecord[], before: number): string;
  end(count: number): string;
}

/** Fields of every listing response. */
const COMMON_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-cache",
  "vary": "Accept",
  "x-content-type-options": "nosniff",
};

/**
 * Answers a request for a directory with a listing of it: HTML, or JSON
 * when the `Accept` field names `application/json` and prefers it to
 * `text/html`. HEAD gets the same fields and no body.
 *
 * JSON is `{"path":"/docs/","entries":[{"name":"a.txt","type":"file",
 * "size":123,"modified":"2026-01-01T00:00:00.000Z"}]}`: `type` is `file` or
 * `directory`, `size` is 0 for a directory, `modified` is null when the
 * system does not report it, and `path` is the directory's path
 * percent-decoded, like the names.
 *
 * @param request A GET or HEAD request; its query may choose the order.
 * @param directory The directory's file-system path and the request's path.
 * @param options The file system, the root's real path, what is hidden, the sort limit.
 * @returns A 200 response whose body streams the listing.
 * @throws {HttpError} 405 for a method other than GET or HEAD.
 * @throws What the file system throws when the directory cannot be read.
 *
 * @example
 * ```ts
 * const response = await listingResponse(
 *   new Request("http://localhost/docs/?sort=size&order=desc"),
 *   { path: "/srv/www/docs", urlPath: "/docs/" },
 *   { root: "/srv/www" },
 * );
 * response.headers.get("content-type"); // "text/html; charset=utf-8"
 * ```
 */
export async function listingResponse(
  request: Request,
  directory: ListedDirectory,
  options: ListingOptions = {},
): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    throw new HttpError(405, undefined, { allow: "GET, HEAD" });
  }
  const fs = options.fs ?? denoFileSystem;
  const renderer = RENDERERS[chooseFormat(request.headers.get("accept"))];
  const headers = { ...COMMON_HEADERS, ...renderer.headers };
  const { first, entries } = await openDirectory(fs, directory.path);
  if (request.method === "HEAD") {
    await entries.return?.();
    return new Response(null, { headers });
  }
  const batches = recordBatches(first, entries, {
    fs,
    directory: directory.path,
    root: options.root,
    dotfiles: options.dotfiles ?? false,
    hide: options.hide,
  });
  const view = listingView(new URL(request.url), directory, options);
  const body = byteStream(listingChunks(renderer, view, batches), () => entries.return?.());
  return new Response(body, { headers });
}

// --- Negotiation and the query ---------------------------------------------

/** A member of an `Accept` field. */
interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
}

/** The quality a field gives a media type, and how specific the range deciding it is. */
interface Quality {
  readonly q: number;
  /** 2 for `type/subtype`, 1 for `type/*`, 0 for `*\/*`. */
  readonly specificity: number;
}

/**
 * JSON when `application/json` is named with a quality above zero that is
 * higher than text/html's, or equal to it when text/html is only matched
 * by a wildcard; HTML otherwise, and when the field is absent.
 */
function chooseFormat(accept: string | null): Format {
  if (accept === null || !accept.toLowerCase().includes("application/json")) return "html";
  const ranges = parseAccept(accept);
  const json = qualityOf(ranges, "application", "json");
  if (json === null || json.specificity < 2 || json.q === 0) return "html";
  const html = qualityOf(ranges, "text", "html");
  if (html === null) return "json";
  if (json.q !== html.q) return json.q > html.q ? "json" : "html";
  return html.specificity < 2 ? "json" : "html";
}

/** The media ranges of an `Accept` field (RFC 9110 §12.5.1); malformed members are skipped. */
function parseAccept(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const member of accept.split(",")) {
    const [range, ...parameters] = member.split(";");
    const slash = range.indexOf("/");
    if (slash < 0) continue;
    let q = 1;
    for (const parameter of parameters) {
      const equals = parameter.indexOf("=");
      if (parameter.slice(0, equals).trim().toLowerCase() === "q") {
        q = Number(parameter.slice(equals + 1).trim());
      }
    }
    if (!(q >= 0 && q <= 1)) continue;
    const type = range.slice(0, slash).trim().toLowerCase();
    ranges.push({ type, subtype: range.slice(slash + 1).trim().toLowerCase(), q });
  }
  return ranges;
}

/** The quality of `type/subtype`: the most specific matching range decides. */
function qualityOf(ranges: readonly MediaRange[], type: string, subtype: string): Quality | null {
  let best: Quality | null = null;
  for (const range of ranges) {
    const specificity = range.type === "*" && range.subtype === "*"
      ? 0
      : range.type !== type
      ? -1
      : range.subtype === "*"
      ? 1
      : range.subtype === subtype
      ? 2
      : -1;
    if (specificity < 0) continue;
    if (
      best === null || specificity > best.specificity ||
      (specificity === best.specificity && range.q > best.q)
    ) {
      best = { q: range.q, specificity };
    }
  }
  return best;
}

/** The order the query asks for; unknown keys and orders fall back to name, ascending. */
function chooseSort(url: URL): Sort {
  const key = url.searchParams.get("sort");
  const order = url.searchParams.get("order");
  return {
    key: SORT_KEYS.find((known) => known === key) ?? SORT_KEYS[0],
    order: SORT_ORDERS.find((known) => known === order) ?? SORT_ORDERS[0],
  };
}

/** What the renderers are told about this listing. */
function listingView(
  url: URL,
  directory: ListedDirectory,
  options: ListingOptions,
): ListingView {
  return {
    path: decodedPath(directory.urlPath),
    sort: chooseSort(url),
    maxSorted: options.maxSorted ?? DEFAULT_MAX_SORTED,
    parent: directory.urlPath !== "/",
  };
}

/** A raw path as text; left raw when it does not decode (a stray `%`). */
function decodedPath(urlPath: string): string {
  try {
    return decodeURIComponent(urlPath);
  } catch {
    return urlPath;
  }
}

// --- Reading the directory -------------------------------------------------

/** A directory being read: its first entry, read already, and the rest. */
interface OpenedDirectory {
  readonly first: IteratorResult<DirEntry>;
  readonly entries: AsyncIterator<DirEntry>;
}

/**
 * Starts reading a directory. The first entry is read here, so that an
 * error on the directory itself is thrown before any response exists.
 */
async function openDirectory(fs: FileSystem, path: string): Promise<OpenedDirectory> {
  if (fs.readDir === undefined) throw new TypeError("File system cannot read directories");
  const entries = fs.readDir(path)[Symbol.asyncIterator]();
  return { first: await entries.next(), entries };
}

/**
 * The listed entries as records, a batch at a time: each batch's names are
 * stat'ed concurrently. Reading stops, and the directory is closed, when
 * the caller stops asking.
 */
async function* recordBatches(
  first: IteratorResult<DirEntry>,
  entries: AsyncIterator<DirEntry>,
  context: ReadContext,
): AsyncGenerator<EntryRecord[]> {
  try {
    let next = first;
    while (!next.done) {
      const batch: DirEntry[] = [];
      while (!next.done && batch.length < STAT_BATCH) {
        if (isListed(next.value.name, context)) batch.push(next.value);
        next = await entries.next();
      }
      if (batch.length === 0) continue;
      const records = await Promise.all(batch.map((entry) => recordOf(entry, context)));
      yield records.filter((record): record is EntryRecord => record !== null);
    }
  } finally {
    await entries.return?.();
  }
}

/** Whether a name is listed at all (before anything is asked of the disk). */
function isListed(name: string, context: ReadContext): boolean {
  if (!context.dotfiles && name.startsWith(".")) return false;
  return context.hide === undefined || !context.hide(name);
}

/**
 * An entry's record, or null when it is not listed: a symlink that is
 * broken or leads out of the root, something that is neither a file nor a
 * directory, or an entry that is gone by now.
 */
async function recordOf(entry: DirEntry, context: ReadContext): Promise<EntryRecord | null> {
  const path = join(context.directory, entry.name);
  try {
    const target = entry.isSymlink ? await context.fs.realPath(path) : path;
    if (entry.isSymlink && context.root !== undefined && !isWithin(context.root, target)) {
      return null;
    }
    const stat = await context.fs.stat(target);
    if (!stat.isFile && !stat.isDirectory) return null;
    return {
      name: entry.name,
      directory: stat.isDirectory,
      size: stat.isDirectory ? 0 : stat.size,
      modified: stat.mtime?.getTime() ?? NaN,
    };
  } catch (error) {
    // Any failure to resolve a symlink means it leads nowhere that can be listed.
    if (entry.isSymlink || isNotFound(error)) return null;
    throw error;
  }
}

/** The records read before sorting, and whether they are all of them. */
interface Gathered {
  readonly records: EntryRecord[];
  readonly complete: boolean;
}

/** Reads records until the directory ends or there are more than `maxSorted`. */
async function gather(
  batches: AsyncIterator<EntryRecord[]>,
  maxSorted: number,
): Promise<Gathered> {
  const records: EntryRecord[] = [];
  while (records.length <= maxSorted) {
    const next = await batches.next();
    if (next.done) return { records, complete: true };
    for (const record of next.value) records.push(record);
  }
  return { records, complete: false };
}

// --- Sorting ---------------------------------------------------------------

/** Names compare as people read them: `file2` before `file10`. */
const COLLATOR = new Intl.Collator("en", { numeric: true });

function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** By name, and by code units where the collator sees no difference, so the order is total. */
function compareNames(a: EntryRecord, b: EntryRecord): number {
  return COLLATOR.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** A time for sorting: unknown ones are the oldest. */
function sortTime(record: EntryRecord): number {
  return Number.isNaN(record.modified) ? -Infinity : record.modified;
}

/** Each key's comparison; ties go by name. */
const COMPARE_BY: Readonly<Record<SortKey, (a: EntryRecord, b: EntryRecord) => number>> = {
  name: compareNames,
  size: (a, b) => compareNumbers(a.size, b.size) || compareNames(a, b),
  modified: (a, b) => compareNumbers(sortTime(a), sortTime(b)) || compareNames(a, b),
};

/** The comparison for a sort: directories first in either order. */
function comparator(sort: Sort): (a: EntryRecord, b: EntryRecord) => number {
  const sign = sort.order === "asc" ? 1 : -1;
  const compare = COMPARE_BY[sort.key];
  return (a, b) => Number(b.directory) - Number(a.directory) || sign * compare(a, b);
}

// --- The body --------------------------------------------------------------

/**
 * The body as text chunks: the start at once, then the rows, sorted when
 * the directory fits in `maxSorted`, then the rest as it is read.
 */
async function* listingChunks(
  renderer: Renderer,
  view: ListingView,
  batches: AsyncGenerator<EntryRecord[]>,
): AsyncGenerator<string> {
  yield renderer.begin(view);
  const { records, complete } = await gather(batches, view.maxSorted);
  if (complete) records.sort(comparator(view.sort));
  yield renderer.table(view, complete);
  let count = 0;
  for (let start = 0; start < records.length; start += ROWS_PER_CHUNK) {
    const rows = records.slice(start, start + ROWS_PER_CHUNK);
    yield renderer.rows(rows, count);
    count += rows.length;
  }
  records.length = 0;
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    yield renderer.rows(batch, count);
    count += batch.length;
  }
  yield renderer.end(count);
}

/**
 * The chunks as a byte stream, produced only as fast as it is read.
 * `release` closes the directory when the stream is cancelled or fails,
 * even before the chunks were first asked for.
 */
function byteStream(
  chunks: AsyncGenerator<string>,
  release: () => Promise<unknown> | undefined,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        let next = await chunks.next();
        while (!next.done && next.value === "") next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        await release();
        throw error;
      }
    },
    async cancel() {
      await chunks.return(undefined);
      await release();
    },
  }, { highWaterMark: 0 });
}

// --- HTML ------------------------------------------------------------------

/** The table's columns, in order. */
const COLUMNS: readonly { readonly key: SortKey; readonly label: string }[] = [
  { key: "name", label: "Name" },
  { key: "size", label: "Size" },
  { key: "modified", label: "Modified (UTC)" },
];

/** `aria-sort` values and the arrows shown (to sighted readers only) for each order. */
const ARIA_SORT: Readonly<Record<SortOrder, string>> = { asc: "ascending", desc: "descending" };
const ARROWS: Readonly<Record<SortOrder, string>> = { asc: "▲", desc: "▼" };

/** Binary units for sizes. */
const SIZE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** The default site's look (www/style.css), reduced to what a listing uses. */
const STYLE = `
:root { color-scheme: light dark; --bg: #f8fafc; --fg: #1e293b; --muted: #475569;
  --accent: #1d4ed8; --accent-hover: #1e40af; --card: #fff; --border: #e2e8f0; --head: #e2e8f0;
  --row-hover: #f1f5f9; }
@media (prefers-color-scheme: dark) { :root { --bg: #0b1120; --fg: #e2e8f0; --muted: #94a3b8;
  --accent: #93c5fd; --accent-hover: #bfdbfe; --card: #111827; --border: #1f2937;
  --head: #1e293b; --row-hover: #172033; } }
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font-size: 1.0625rem;
  line-height: 1.65; font-family: system-ui, -apple-system, "Segoe UI", Roboto,
  "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
.wrap { max-width: 52rem; margin: 0 auto; padding-left: 1.25rem; padding-right: 1.25rem; }
header.site { border-bottom: 1px solid var(--border); background: var(--card); }
header.site .wrap { padding-top: 0.9rem; padding-bottom: 0.9rem; }
.brand { display: inline-flex; align-items: center; gap: 0.6rem; color: var(--fg);
  font-weight: 700; font-size: 1.25rem; text-decoration: none; letter-spacing: 0.01em; }
.brand svg { width: 2.25rem; height: 2.25rem; display: block; }
main { padding: 2rem 0 3rem; }
h1 { font-size: clamp(1.5rem, 3vw + 1rem, 2.2rem); line-height: 1.25; margin: 0.5rem 0 1rem;
  letter-spacing: -0.01em; overflow-wrap: anywhere; }
a { color: var(--accent); text-underline-offset: 0.15em; }
a:hover { color: var(--accent-hover); }
a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; border-radius: 3px; }
.note { color: var(--muted); font-size: 0.95rem; margin: 0 0 1rem; }
.table-wrap { overflow-x: auto; border: 1px solid var(--border); border-radius: 8px;
  background: var(--card); }
table { width: 100%; border-collapse: collapse; }
caption { text-align: left; color: var(--muted); font-size: 0.9rem; padding: 0.5rem 0.85rem; }
th, td { text-align: left; padding: 0.5rem 0.85rem; border-top: 1px solid var(--border);
  vertical-align: top; }
thead th { font-weight: 600; background: var(--head); white-space: nowrap; }
thead a { color: inherit; text-decoration: none; }
thead a:hover { color: var(--accent); text-decoration: underline; }
thead [aria-sort] a { color: var(--accent); }
.arrow { font-size: 0.75em; margin-left: 0.35em; }
tbody th { font-weight: 400; overflow-wrap: anywhere; }
tbody tr:hover { background: var(--row-hover); }
tr.dir th a { font-weight: 600; }
.size { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.modified { white-space: nowrap; font-variant-numeric: tabular-nums; color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
.hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap; }
footer.site { border-top: 1px solid var(--border); color: var(--muted); font-size: 0.9rem;
  padding: 1.25rem 0 2rem; }
@media (max-width: 32rem) { body { font-size: 1rem; } .modified { display: none; } }
`;

/** The project's mark, drawn inline (the policy allows no image but `data:`). */
const LOGO = '<svg viewBox="0 0 64 64" aria-hidden="true" focusable="false">' +
  '<rect width="64" height="64" rx="14" fill="#1d4ed8"/><g fill="#fff">' +
  '<path d="M32 10 54 22H10z"/><rect x="10" y="24" width="44" height="4" rx="1"/>' +
  '<path d="M14 30h6v18h-6zm10 0h6v18h-6zm10 0h6v18h-6zm10 0h6v18h-6z"/>' +
  '<rect x="10" y="50" width="44" height="4" rx="1"/></g></svg>';

/** The row leading to the parent directory. */
const PARENT_ROW = '<tr class="dir"><th scope="row"><a href="../">../' +
  '<span class="hidden"> (parent folder)</span></a></th><td class="size"></td>' +
  '<td class="modified"></td></tr>\n';

/** The document up to the heading: sent before the directory is read. */
function htmlBegin(view: ListingView): string {
  const path = escapeHtml(view.path);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Index of ${path}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header class="site"><div class="wrap"><a class="brand" href="/">${LOGO}Portico</a></div></header>
<main class="wrap">
<h1>Index of ${path}</h1>
`;
}

/** The note (when unsorted), the caption and the column headers. */
function htmlTable(view: ListingView, sorted: boolean): string {
  const path = escapeHtml(view.path);
  const limit = view.maxSorted.toLocaleString("en-US");
  const note = sorted
    ? ""
    : `<p class="note">More than ${limit} entries: shown in directory order.</p>\n`;
  const label = COLUMNS.find((column) => column.key === view.sort.key)!.label.toLowerCase();
  const caption = sorted
    ? `Contents of ${path}, folders first, by ${label}, ${ARIA_SORT[view.sort.order]}`
    : `Contents of ${path}, in directory order`;
  const headers = COLUMNS.map((column) => headerCell(column, view.sort, sorted)).join("");
  return `${note}<div class="table-wrap">\n<table>\n<caption>${caption}</caption>\n` +
    `<thead><tr>${headers}</tr></thead>\n<tbody>\n${view.parent ? PARENT_ROW : ""}`;
}

/** A column header: a link that sorts by it (the other way when it is the current one). */
function headerCell(column: (typeof COLUMNS)[number], sort: Sort, sorted: boolean): string {
  const classes = column.key === "name" ? "" : ` class="${column.key}"`;
  if (!sorted) return `<th scope="col"${classes}>${column.label}</th>`;
  const current = column.key === sort.key;
  const order = current && sort.order === "asc" ? "desc" : "asc";
  const marked = current ? ` aria-sort="${ARIA_SORT[sort.order]}"` : "";
  const arrow = current
    ? `<span class="arrow" aria-hidden="true">${ARROWS[sort.order]}</span>`
    : "";
  return `<th scope="col"${classes}${marked}>` +
    `<a href="?sort=${column.key}&amp;order=${order}">${column.label}${arrow}</a></th>`;
}

function htmlRows(records: readonly EntryRecord[]): string {
  return records.map(htmlRow).join("");
}

/** One entry: a link, its size (exact bytes in `value`) and its time. */
function htmlRow(record: EntryRecord): string {
  const slash = record.directory ? "/" : "";
  const href = escapeHtml(`./${encodeURIComponent(record.name)}${slash}`);
  const link = `<a href="${href}">${escapeHtml(record.name)}${slash}</a>`;
  const size = record.directory
    ? ""
    : `<data value="${record.size}" title="${record.size.toLocaleString("en-US")} bytes">${
      humanSize(record.size)
    }</data>`;
  return `<tr${record.directory ? ' class="dir"' : ""}><th scope="row">${link}</th>` +
    `<td class="size">${size}</td><td class="modified">${timeElement(record.modified)}</td></tr>\n`;
}

/** A size in binary units: `512 B`, `1.5 KiB`, `12 MiB`. */
function humanSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${SIZE_UNITS[unit]}`;
}

/** A `<time>` with the exact instant, shown to the minute in UTC; empty when unknown. */
function timeElement(modified: number): string {
  if (Number.isNaN(modified)) return "";
  const iso = new Date(modified).toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)}</time>`;
}

/** The table's end, a row saying so when nothing was listed, and the page's end. */
function htmlEnd(count: number): string {
  const empty = count === 0
    ? '<tr><td colspan="3" class="empty">This folder is empty.</td></tr>\n'
    : "";
  return `${empty}</tbody>\n</table>\n</div>\n</main>\n<footer class="site"><div class="wrap">` +
    `Listed by Portico &mdash; a static web server for Deno.</div></footer>\n</body>\n</html>\n`;
}

// --- JSON ------------------------------------------------------------------

function jsonBegin(view: ListingView): string {
  return `{"path":${JSON.stringify(view.path)},"entries":[`;
}

function jsonRows(records: readonly EntryRecord[], before: number): string {
  return (before > 0 ? "," : "") + records.map(jsonEntry).join(",");
}

function jsonEntry(record: EntryRecord): string {
  return JSON.stringify({
    name: record.name,
    type: record.directory ? "directory" : "file",
    size: record.size,
    modified: Number.isNaN(record.modified) ? null : new Date(record.modified).toISOString(),
  });
}

/** Each format's pieces and fields. */
const RENDERERS: Readonly<Record<Format, Renderer>> = {
  html: {
    headers: { "content-type": "text/html; charset=utf-8", "content-security-policy": LISTING_CSP },
    begin: htmlBegin,
    table: htmlTable,
    rows: htmlRows,
    end: htmlEnd,
  },
  json: {
    headers: { "content-type": "application/json" },
    begin: jsonBegin,
    table: () => "",
    rows: jsonRows,
    end: () => "]}\n",
  },
};
