/**
 * Notices when the rule files (`_headers`, `_redirects`) at the top of the
 * root are written, created, removed or renamed, so the rules can be read
 * again without a signal. Only the top of the root is watched (the rule
 * files live nowhere else), and events that arrive together (an editor's
 * write-and-rename) are told once, a short moment after the last of them.
 *
 * @module
 */

import { basename, dirname, resolve } from "../deps.ts";
import { RULE_FILES } from "../static/options.ts";

/** How long after the last event a change is told, in milliseconds. */
export const RULE_WATCH_SETTLE_MS = 100;

/**
 * Watches the top of `root` for changes to the rule files.
 *
 * @param root The document root.
 * @param onChange Told once per burst of changes.
 * @param onError Told once when the root cannot be watched (a compiled
 * binary's embedded root, no permission); nothing else is reported then.
 * @returns Stops watching.
 *
 * @example
 * ```ts
 * const stop = watchRuleFiles("www", () => console.log("rules changed"), console.error);
 * stop();
 * ```
 */
export function watchRuleFiles(
  root: string,
  onChange: () => void,
  onError: (error: unknown) => void,
): () => void {
  let watcher: Deno.FsWatcher;
  try {
    watcher = Deno.watchFs(root, { recursive: false });
  } catch (error) {
    onError(error);
    return () => {};
  }
  const ruleFile = (event: Deno.FsEvent) =>
    event.paths.some((path) => RULE_FILES.includes(basename(path)));
  return settle(watcher, ruleFile, onChange, onError);
}

/**
 * Tells `onChange` once per burst of the watcher's events that `wanted`
 * keeps, {@linkcode RULE_WATCH_SETTLE_MS} after the last of them.
 */
function settle(
  watcher: Deno.FsWatcher,
  wanted: (event: Deno.FsEvent) => boolean,
  onChange: () => void,
  onError: (error: unknown) => void,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const told = () => {
    timer = undefined;
    onChange();
  };
  const pump = async () => {
    for await (const event of watcher) {
      if (!wanted(event)) continue;
      clearTimeout(timer);
      timer = setTimeout(told, RULE_WATCH_SETTLE_MS);
    }
  };
  pump().catch(onError);
  return () => {
    clearTimeout(timer);
    try {
      watcher.close();
    } catch {
      // Already closed.
    }
  };
}

/**
 * Watches files (a certificate and its key) for any change, told once per
 * burst of events. The folders that hold them are watched, not the files:
 * a renewal tool replaces a file by rename, or points a symbolic link at a
 * new one (certbot's `live/`), and a watch on the file itself would stay
 * on what it replaced.
 *
 * @param paths The files; none: nothing is watched.
 * @param onChange Told once per burst of changes.
 * @param onError Told once when they cannot be watched.
 * @returns Stops watching.
 *
 * @example
 * ```ts
 * const stop = watchFiles(["cert.pem", "key.pem"], () => console.log("changed"), console.error);
 * stop();
 * ```
 */
export function watchFiles(
  paths: readonly string[],
  onChange: () => void,
  onError: (error: unknown) => void,
): () => void {
  if (paths.length === 0) return () => {};
  const targets = new Set(paths.map((path) => resolve(path)));
  const folders = [...new Set([...targets].map((path) => dirname(path)))];
  let watcher: Deno.FsWatcher;
  try {
    watcher = Deno.watchFs(folders, { recursive: false });
  } catch (error) {
    onError(error);
    return () => {};
  }
  const watched = (event: Deno.FsEvent) => event.paths.some((path) => targets.has(resolve(path)));
  return settle(watcher, watched, onChange, onError);
}
