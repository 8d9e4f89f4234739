/**
 * What SIGHUP, a changed rule file and the library's `reload()` do: read
 * the configuration again, check it, and switch the serving side over for
 * new requests; a configuration that cannot be used is refused in one line
 * and the running one stays. Reloads never overlap: one asked for while
 * another runs is done once more after it, with what is on disk then.
 *
 * @module
 */

/** What a reload is made of. */
export interface ReloadSteps<T> {
  /** What is reloaded, for the report (default: the configuration and the rule files). */
  readonly what?: string;
  /** Reads and checks the new configuration; throws with a one-line message when it cannot be used. */
  readonly read: () => Promise<T>;
  /** Switches to it; resolves with why it could not, or null. */
  readonly apply: (next: T) => Promise<string | null>;
  /** Told one line per reload: what was reloaded, or why the old configuration stays. */
  readonly report: (line: string, ok: boolean) => void;
}

/**
 * Makes the reload function.
 *
 * @param steps How to read, apply and report.
 * @returns `reload()`, which resolves with true when the new configuration serves.
 *
 * @example
 * ```ts
 * const reload = reloader({
 *   read: async () => await readConfig(),
 *   apply: async (config) => await pool.reload(config),
 *   report: (line) => console.error(line),
 * });
 * Deno.addSignalListener("SIGHUP", () => reload());
 * ```
 */
export function reloader<T>(steps: ReloadSteps<T>): () => Promise<boolean> {
  let running: Promise<boolean> | null = null;
  let again: Promise<boolean> | null = null;
  const once = async (): Promise<boolean> => {
    let next: T;
    try {
      next = await steps.read();
    } catch (error) {
      steps.report(`reload refused, the running configuration stays: ${messageOf(error)}`, false);
      return false;
    }
    let refused: string | null;
    try {
      refused = await steps.apply(next);
    } catch (error) {
      refused = messageOf(error);
    }
    if (refused !== null) {
      steps.report(`reload refused, the running configuration stays: ${refused}`, false);
      return false;
    }
    steps.report(`reloaded ${steps.what ?? "the configuration and the rule files"}`, true);
    return true;
  };
  const reload = (): Promise<boolean> => {
    if (running === null) {
      running = once().finally(() => running = null);
      return running;
    }
    again ??= running.finally(() => again = null).then(() => reload());
    return again;
  };
  return reload;
}

/** An error's message on one line. */
function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0];
}
