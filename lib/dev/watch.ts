/**
 * Watches the document root in development mode and reports changes as
 * batches (see `ChangeBatcher`): each file-system event's paths become URL
 * paths from the root ("/css/site.css").
 *
 * `Deno.watchFs` reports absolute paths under the path it was given, with
 * symbolic links left as given (watching a link to the root reports paths
 * through the link). So the root is resolved to its real path once, and
 * that same path is both watched and cut off the paths reported.
 *
 * @module
 */

import { resolve, SEPARATOR } from "../deps.ts";
import { type BatchOptions, ChangeBatcher, type LiveChange } from "./changes.ts";

/** A running watch of the root; see {@linkcode watchRoot}. */
export interface RootWatcher {
  /** Stops watching and drops any batch under way. Calling it again does nothing. */
  close(): void;
}

/** Options of {@linkcode watchRoot}: the batching, and where failures go. */
export interface WatchOptions extends BatchOptions {
  /**
   * Told once when watching fails (the root cannot be watched, or the watch
   * ends with an error), and whenever `onChange` throws. Default: one line
   * on standard error, starting "portico: ".
   */
  readonly onError: (error: unknown) => void;
}

/** The kinds of file-system event that may change what a page shows. */
const CHANGE_KINDS: ReadonlySet<Deno.FsEvent["kind"]> = new Set(
  ["create", "modify", "remove", "rename"] as const,
);

/**
 * Watches `root` and everything under it, and reports changes to
 * `onChange` in batches. Never throws: when the root cannot be watched (it
 * is missing, or reading it is not allowed) or the watch fails later (the
 * root is removed or moved away), `onError` is told once and nothing more
 * is reported.
 *
 * @param root The document root; relative (to the working directory) or
 * through symbolic links is fine.
 * @param onChange Receives each batch of changes.
 * @param options Batch timing and limits, and `onError`.
 * @returns The watch, to close.
 *
 * @example
 * ```ts
 * const watcher = watchRoot("www", (change) => console.log(change));
 * // Saving www/css/site.css logs { reload: false, css: ["/css/site.css"], images: [] }
 * watcher.close();
 * ```
 */
export function watchRoot(
  root: string,
  onChange: (change: LiveChange) => void,
  options: Partial<WatchOptions> = {},
): RootWatcher {
  const realRoot = realPathOf(root);
  const { onError = (error: unknown) => logWatchError(realRoot, error), ...batch } = options;
  return new RootWatch(realRoot, onChange, onError, batch);
}

/** The watch behind {@linkcode watchRoot}: one event loop, one batcher. */
class RootWatch implements RootWatcher {
  readonly #root: string;
  readonly #onChange: (change: LiveChange) => void;
  readonly #onError: (error: unknown) => void;
  readonly #batcher: ChangeBatcher;
  #watcher: Deno.FsWatcher | null = null;
  #closed = false;

  constructor(
    root: string,
    onChange: (change: LiveChange) => void,
    onError: (error: unknown) => void,
    batch: Partial<BatchOptions>,
  ) {
    this.#root = root;
    this.#onChange = onChange;
    this.#onError = onError;
    this.#batcher = new ChangeBatcher((change) => this.#deliver(change), batch);
    try {
      this.#watcher = Deno.watchFs(root, { recursive: true });
    } catch (error) {
      this.#fail(error);
      return;
    }
    void this.#run(this.#watcher);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#batcher.close();
    closeQuietly(this.#watcher);
  }

  async #run(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) this.#take(event);
    } catch (error) {
      // Closing the watcher may end the loop with an error of its own: not a failure.
      if (!this.#closed) this.#fail(error);
    }
  }

  #take(event: Deno.FsEvent): void {
    if (!CHANGE_KINDS.has(event.kind)) return;
    for (const path of event.paths) {
      if (path === this.#root) {
        this.#takeRootEvent(event.kind);
        if (this.#closed) return;
        continue;
      }
      const urlPath = urlPathUnder(this.#root, path);
      if (urlPath !== null) this.#batcher.add(urlPath);
    }
  }

  /**
   * An event about the root itself. Removing or moving it away ends the
   * watch without an error from `watchFs` (nothing more is reported, even
   * when it comes back), so it is reported here as a failure.
   */
  #takeRootEvent(kind: Deno.FsEvent["kind"]): void {
    if (kind === "remove" || kind === "rename") {
      this.#fail(new Deno.errors.NotFound("Document root removed or moved"));
    }
  }

  #deliver(change: LiveChange): void {
    try {
      this.#onChange(change);
    } catch (error) {
      this.#onError(error);
    }
  }

  /** Reports a failed watch once, and stops. */
  #fail(error: unknown): void {
    this.close();
    this.#onError(error);
  }
}

/** The real path of the root, or its absolute path when that cannot be found. */
function realPathOf(root: string): string {
  try {
    return Deno.realPathSync(root);
  } catch {
    // Missing or unreadable: watching it fails next, and says why.
    return resolve(root);
  }
}

/**
 * The URL path of `path` under `root` ("/" and the relative path with "/"
 * between segments), or null when it is the root itself or outside it.
 */
function urlPathUnder(root: string, path: string): string | null {
  const prefix = root.endsWith(SEPARATOR) ? root : root + SEPARATOR;
  if (!path.startsWith(prefix) || path.length === prefix.length) return null;
  const relative = path.slice(prefix.length);
  return "/" + (SEPARATOR === "/" ? relative : relative.replaceAll(SEPARATOR, "/"));
}

function closeQuietly(watcher: Deno.FsWatcher | null): void {
  try {
    watcher?.close();
  } catch {
    // Already closed: the watch ended on its own.
  }
}

/** The default `onError`: one line on standard error. */
function logWatchError(root: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split("\n", 1)[0];
  console.error(`portico: live reload of ${root}: ${firstLine}`);
}
