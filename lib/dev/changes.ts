/**
 * What a change under the document root means to an open page, and the
 * batching that turns a burst of file-system events (one save is often
 * three events; a `git checkout` is thousands) into one message.
 *
 * A stylesheet can be swapped in place and an image reloaded on its own;
 * any other file means the page reloads. Hidden files and the scratch files
 * editors and downloaders write next to the real ones mean nothing.
 *
 * @module
 */

import { type Clock, realClock } from "../watchdog.ts";

/**
 * What a page does about one changed path: swap a stylesheet, refresh an
 * image, or reload the whole page.
 */
export type ChangeKind = "css" | "image" | "reload";

/**
 * One batch of changes, as sent to the pages (see `LIVE_CHANGE_EVENT`).
 * Paths are URL paths from the root, sorted and without duplicates.
 */
export interface LiveChange {
  /** Whether the page reloads; when true, the lists are informational only. */
  readonly reload: boolean;
  /** Changed stylesheets. */
  readonly css: readonly string[];
  /** Changed images. */
  readonly images: readonly string[];
}

/**
 * The scratch files editors and other tools write beside real files, by
 * last path segment (compared in lower case). `suffix` matches the end of
 * the name, `exact` the whole name, and `enclosed` a name that begins and
 * ends with the text.
 */
const SCRATCH_FILES = [
  // Vim: the swap file of an open buffer.
  { match: "suffix", text: ".swp" },
  // Vim: the next swap file name when `.swp` is taken (another session).
  { match: "suffix", text: ".swo" },
  // Vim: the swap file name tried when `.swp` and `.swo` are both taken.
  { match: "suffix", text: ".swx" },
  // Vim: the file it creates and deletes to test whether a directory is writable.
  { match: "exact", text: "4913" },
  // Vim and Emacs backup files (`index.html~`); also gedit and nano's backups.
  { match: "suffix", text: "~" },
  // Emacs: auto-save files (`#index.html#`).
  { match: "enclosed", text: "#" },
  // JetBrains IDEs, "safe write": the new content before it is renamed into place.
  { match: "suffix", text: "___jb_tmp___" },
  // JetBrains IDEs, "safe write": the old content kept until the rename succeeds.
  { match: "suffix", text: "___jb_old___" },
  // Many tools (Office, installers, scripts) write `*.tmp` and rename.
  { match: "suffix", text: ".tmp" },
  // Backups kept by many editors and tools (Notepad++, sed -i.bak, hand copies).
  { match: "suffix", text: ".bak" },
  // Chrome and Edge: a download still in progress.
  { match: "suffix", text: ".crdownload" },
  // Firefox and others: a partial download.
  { match: "suffix", text: ".part" },
] as const;

/** One entry of {@linkcode SCRATCH_FILES}. */
type ScratchPattern = (typeof SCRATCH_FILES)[number];

/** Extensions (lower case, with the dot) a page can reload as an image alone. */
const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  ".png",
  ".jpg",
  ".jpeg",
  ".gif",
  ".webp",
  ".avif",
  ".svg",
  ".ico",
  ".bmp",
]);

/** The extension of a stylesheet, in lower case. */
const CSS_EXTENSION = ".css";

/**
 * What a change to a path under the root means to an open page.
 *
 * @param urlPath The path from the root as a URL path, starting with "/"
 * ("/css/site.css"), not percent-encoded.
 * @returns "css" for a stylesheet, "image" for an image, "reload" for any
 * other file, or null when the change means nothing: a segment starts with
 * "." (dotfiles, `.git/`, Emacs `.#lock` files), or the name is an editor's
 * or downloader's scratch file (`*.swp`, `*~`, `#*#`, `*.crdownload`, …).
 *
 * @example
 * ```ts
 * classifyChange("/css/Site.CSS"); // "css"
 * classifyChange("/img/logo.svg"); // "image"
 * classifyChange("/index.html"); // "reload"
 * classifyChange("/.git/index"); // null
 * classifyChange("/index.html.swp"); // null
 * ```
 */
export function classifyChange(urlPath: string): ChangeKind | null {
  const segments = urlPath.split("/");
  if (segments.some((segment) => segment.startsWith("."))) return null;
  const name = segments[segments.length - 1].toLowerCase();
  if (isScratchFile(name)) return null;
  const extension = extensionOf(name);
  if (extension === CSS_EXTENSION) return "css";
  if (IMAGE_EXTENSIONS.has(extension)) return "image";
  return "reload";
}

/** Whether a lower-case file name is one of the {@linkcode SCRATCH_FILES}. */
function isScratchFile(name: string): boolean {
  return SCRATCH_FILES.some((pattern) => matchesScratch(name, pattern));
}

function matchesScratch(name: string, pattern: ScratchPattern): boolean {
  switch (pattern.match) {
    case "exact":
      return name === pattern.text;
    case "suffix":
      return name.endsWith(pattern.text);
    case "enclosed":
      return name.length >= 2 * pattern.text.length && name.startsWith(pattern.text) &&
        name.endsWith(pattern.text);
  }
}

/** The extension of a file name with its dot, or "" when it has none. */
function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot);
}

/** How a {@linkcode ChangeBatcher} gathers changes into batches. */
export interface BatchOptions {
  /** A batch is sent this long after its last change (default 75 ms). */
  readonly quietMs: number;
  /** … but never later than this after its first change (default 300 ms). */
  readonly maxWaitMs: number;
  /**
   * Most distinct paths kept for one batch (default 256); a batch with more
   * forgets them all and becomes a plain reload.
   */
  readonly maxPaths: number;
  /** Where timers are set (default the program's, `realClock`). */
  readonly clock: Clock;
}

/** The defaults of {@linkcode BatchOptions}. */
const DEFAULT_BATCH_OPTIONS: BatchOptions = Object.freeze({
  quietMs: 75,
  maxWaitMs: 300,
  maxPaths: 256,
  clock: realClock,
});

/**
 * Gathers changed paths into batches: a batch is sent `quietMs` after the
 * last path was added, and at most `maxWaitMs` after the first, so a steady
 * stream of changes still reaches the page. A batch of more than `maxPaths`
 * distinct paths stops keeping them and is sent as a plain reload, so a
 * checkout of thousands of files costs neither memory nor a huge message.
 *
 * @example
 * ```ts
 * const batcher = new ChangeBatcher((change) => console.log(change));
 * batcher.add("/css/site.css");
 * batcher.add("/css/site.css");
 * batcher.add("/img/logo.png");
 * // 75 ms later: { reload: false, css: ["/css/site.css"], images: ["/img/logo.png"] }
 * ```
 */
export class ChangeBatcher {
  readonly #onFlush: (change: LiveChange) => void;
  readonly #options: BatchOptions;
  /** The paths of the batch under way and what each means; empty once it overflowed. */
  readonly #pending = new Map<string, ChangeKind>();
  /** Whether the batch under way had more than `maxPaths` paths. */
  #overflowed = false;
  #quietTimer: unknown;
  #maxWaitTimer: unknown;
  #closed = false;
  readonly #flushOnTimer = (): void => this.#flush();

  /**
   * Makes a batcher with no batch under way.
   *
   * @param onFlush Receives each batch.
   * @param options Timing, the path limit and the timers; defaults for those left out.
   * @throws {RangeError} When a time is negative or not finite, or `maxPaths` is below 1.
   */
  constructor(onFlush: (change: LiveChange) => void, options: Partial<BatchOptions> = {}) {
    this.#onFlush = onFlush;
    this.#options = withDefaults(options);
    checkBatchOptions(this.#options);
  }

  /**
   * Adds a changed path to the batch under way (starting one if none is);
   * a path {@linkcode classifyChange} ignores, or any path after `close()`,
   * is dropped.
   *
   * @param urlPath The path from the root as a URL path ("/css/site.css").
   */
  add(urlPath: string): void {
    if (this.#closed) return;
    const kind = classifyChange(urlPath);
    if (kind === null) return;
    this.#hold(urlPath, kind);
    this.#schedule();
  }

  /** How many paths the batch under way keeps (none once it overflowed). */
  get pending(): number {
    return this.#pending.size;
  }

  /** Cancels the timers and drops the batch under way; later paths are ignored. */
  close(): void {
    this.#closed = true;
    this.#cancelTimers();
    this.#pending.clear();
    this.#overflowed = false;
  }

  #hold(urlPath: string, kind: ChangeKind): void {
    if (this.#overflowed || this.#pending.has(urlPath)) return;
    if (this.#pending.size >= this.#options.maxPaths) {
      this.#pending.clear();
      this.#overflowed = true;
      return;
    }
    this.#pending.set(urlPath, kind);
  }

  /** Restarts the quiet period, and starts the maximum wait with the batch's first path. */
  #schedule(): void {
    const { clock, quietMs, maxWaitMs } = this.#options;
    if (this.#quietTimer !== undefined) clock.clearTimer(this.#quietTimer);
    this.#quietTimer = clock.setTimer(this.#flushOnTimer, quietMs);
    this.#maxWaitTimer ??= clock.setTimer(this.#flushOnTimer, maxWaitMs);
  }

  #cancelTimers(): void {
    const { clock } = this.#options;
    if (this.#quietTimer !== undefined) clock.clearTimer(this.#quietTimer);
    if (this.#maxWaitTimer !== undefined) clock.clearTimer(this.#maxWaitTimer);
    this.#quietTimer = undefined;
    this.#maxWaitTimer = undefined;
  }

  #flush(): void {
    this.#cancelTimers();
    const change = this.#overflowed ? overflowChange() : changeOf(this.#pending);
    this.#pending.clear();
    this.#overflowed = false;
    this.#onFlush(change);
  }
}

/** The options given, and the defaults for those left out or undefined. */
function withDefaults(options: Partial<BatchOptions>): BatchOptions {
  return {
    quietMs: options.quietMs ?? DEFAULT_BATCH_OPTIONS.quietMs,
    maxWaitMs: options.maxWaitMs ?? DEFAULT_BATCH_OPTIONS.maxWaitMs,
    maxPaths: options.maxPaths ?? DEFAULT_BATCH_OPTIONS.maxPaths,
    clock: options.clock ?? DEFAULT_BATCH_OPTIONS.clock,
  };
}

function checkBatchOptions(options: BatchOptions): void {
  for (const name of ["quietMs", "maxWaitMs"] as const) {
    const ms = options[name];
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`Invalid ${name}: ${ms} is not a finite number of milliseconds >= 0`);
    }
  }
  if (!Number.isInteger(options.maxPaths) || options.maxPaths < 1) {
    throw new RangeError(`Invalid maxPaths: ${options.maxPaths} is not an integer >= 1`);
  }
}

/** The change a batch of classified paths makes: lists sorted, reload for any other file. */
function changeOf(paths: ReadonlyMap<string, ChangeKind>): LiveChange {
  const css: string[] = [];
  const images: string[] = [];
  let reload = false;
  for (const [path, kind] of paths) {
    if (kind === "css") css.push(path);
    else if (kind === "image") images.push(path);
    else reload = true;
  }
  return { reload, css: css.sort(), images: images.sort() };
}

/** The change of a batch that had too many paths to keep. */
function overflowChange(): LiveChange {
  return { reload: true, css: [], images: [] };
}
