/**
 * Child processes: every one starts through a bash wrapper that raises its
 * descriptor limit, is registered so that an interrupt can stop it, and is
 * stopped with SIGTERM, then SIGKILL after a bounded wait (its descendants
 * too, so no nginx worker outlives its master). Also the `/proc` readings:
 * process trees and resident memory.
 *
 * @module
 */

/**
 * Raises the open-file limit, then replaces itself with the command. The
 * fallback covers systems whose hard limit is below 65536.
 */
const WRAPPER = 'ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null; exec "$@"';

/**
 * The same, with both outputs appended to the file named by `$0` (the
 * argument bash takes before the command), so a chatty server never blocks
 * on a full pipe and its last words can be read after a failed start.
 */
const WRAPPER_TO_LOG =
  'ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null; exec "$@" >>"$0" 2>&1';

/** How long a process gets to exit after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 5_000;

/** How a child's output is handled. */
export type OutputMode =
  | { readonly output: "piped" }
  | { readonly output: "log"; readonly log: string };

/** What a child printed, for `output: "piped"`. */
export interface ChildOutput {
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
  /** How it exited. */
  readonly status: Deno.CommandStatus;
}

/** A running child process. */
export interface Running {
  /** A short name for messages. */
  readonly name: string;
  /** Its process id (the wrapper's, which became the command's). */
  readonly pid: number;
  /** The log file for `output: "log"`, else null. */
  readonly log: string | null;
  /** Resolves when it has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Whether it has exited. */
  hasExited(): boolean;
  /** Sends a signal; does nothing once it has exited. */
  signal(signal: Deno.Signal): void;
  /** Waits for the exit and returns what it printed (`output: "piped"` only). */
  output(): Promise<ChildOutput>;
}

/**
 * The wrapper's argument list for `bash`.
 *
 * @param command The executable.
 * @param args Its arguments.
 * @param log A file for both outputs, or null to leave them alone.
 * @returns Arguments for `bash`.
 *
 * @example
 * ```ts
 * wrapperArgs("wrk", ["-c50", "http://127.0.0.1:8000/"], null);
 * // ["-c", 'ulimit -n 65536 …; exec "$@"', "_", "wrk", "-c50", "http://127.0.0.1:8000/"]
 * ```
 */
export function wrapperArgs(
  command: string,
  args: readonly string[],
  log: string | null,
): string[] {
  return log === null
    ? ["-c", WRAPPER, "_", command, ...args]
    : ["-c", WRAPPER_TO_LOG, log, command, ...args];
}

/**
 * Describes how a process ended.
 *
 * @example
 * ```ts
 * describeStatus({ success: false, code: 1, signal: null }); // "exited with code 1"
 * ```
 */
export function describeStatus(status: Deno.CommandStatus): string {
  return status.signal === null ? `exited with code ${status.code}` : `died of ${status.signal}`;
}

/**
 * Resolves with true when `promise` settles within `ms`, false otherwise; the
 * timer never outlives the wait.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The processes this program started and has not yet stopped. One instance
 * per run, so an interrupt handler can stop whatever is running.
 */
export class Children {
  #live = new Set<Running>();
  #bash: string;
  #closed = false;

  /**
   * Creates an empty set of children.
   *
   * @param bash The bash executable used as the fd-limit wrapper.
   */
  constructor(bash: string) {
    this.#bash = bash;
  }

  /**
   * Starts `command` through the fd-limit wrapper.
   *
   * @param name A short name for messages.
   * @param command The executable.
   * @param args Its arguments.
   * @param mode Piped outputs, or both appended to a log file.
   * @returns The running process.
   */
  spawn(name: string, command: string, args: readonly string[], mode: OutputMode): Running {
    if (this.#closed) throw new Error("interrupted");
    const log = mode.output === "log" ? mode.log : null;
    const child = new Deno.Command(this.#bash, {
      args: wrapperArgs(command, args, log),
      stdin: "null",
      stdout: mode.output === "piped" ? "piped" : "null",
      stderr: mode.output === "piped" ? "piped" : "null",
    }).spawn();
    // Read piped outputs from the start, so the child never blocks on a full pipe.
    const stdout = mode.output === "piped" ? new Response(child.stdout).text() : null;
    const stderr = mode.output === "piped" ? new Response(child.stderr).text() : null;
    let exited = false;
    const status = child.status.then((result) => {
      exited = true;
      return result;
    });
    const running: Running = {
      name,
      pid: child.pid,
      log,
      status,
      hasExited: () => exited,
      signal(signal: Deno.Signal): void {
        if (exited) return;
        try {
          child.kill(signal);
        } catch {
          // It exited between the check and the signal.
        }
      },
      async output(): Promise<ChildOutput> {
        if (stdout === null || stderr === null) throw new Error(`${name}: output is not piped`);
        return { stdout: await stdout, stderr: await stderr, status: await status };
      },
    };
    this.#live.add(running);
    return running;
  }

  /**
   * Stops a child: SIGTERM, then SIGKILL for it and its descendants when it
   * has not exited within {@linkcode STOP_GRACE_MS}; descendants still alive
   * after it exited (orphaned workers) are killed too.
   *
   * @param running The child.
   * @returns How it ended.
   */
  async stop(running: Running): Promise<Deno.CommandStatus> {
    if (!running.hasExited()) {
      const family = descendantsOf(running.pid, readProcessTable());
      running.signal("SIGTERM");
      if (!(await settlesWithin(running.status, STOP_GRACE_MS))) {
        running.signal("SIGKILL");
      }
      await running.status;
      killLeftovers(family);
    }
    this.#live.delete(running);
    return await running.status;
  }

  /** Whether {@linkcode Children.stopAll} was called: nothing new may start. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops every child still running, all at once, and refuses new ones from then on. */
  async stopAll(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#live].map((running) => this.stop(running)));
  }
}

/** A process's parent and command name, from `/proc/PID/stat`. */
export interface ProcessEntry {
  /** The parent's process id. */
  readonly ppid: number;
  /** The command name (at most 15 characters on Linux). */
  readonly comm: string;
}

/**
 * Parses `/proc/PID/stat`. The command name is in parentheses and may itself
 * contain spaces and parentheses, so the fields after it are found from the
 * last `)`.
 *
 * @param text The file's content.
 * @returns Parent pid and command name, or null when the text is not a stat line.
 *
 * @example
 * ```ts
 * parseStat("42 (nginx) S 41 42 41 0 -1"); // { ppid: 41, comm: "nginx" }
 * ```
 */
export function parseStat(text: string): ProcessEntry | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open === -1 || close < open) return null;
  const fields = text.slice(close + 2).split(" ");
  const ppid = Number(fields[1]);
  if (!Number.isInteger(ppid)) return null;
  return { ppid, comm: text.slice(open + 1, close) };
}

/**
 * Every process below `root` in a process table, children before grandchildren.
 *
 * @param root A process id.
 * @param table pid → entry.
 * @returns The descendants' pids with their entries.
 *
 * @example
 * ```ts
 * const table = new Map([[2, { ppid: 1, comm: "a" }], [3, { ppid: 2, comm: "b" }]]);
 * descendantsOf(1, table); // [[2, { ppid: 1, comm: "a" }], [3, { ppid: 2, comm: "b" }]]
 * ```
 */
export function descendantsOf(
  root: number,
  table: ReadonlyMap<number, ProcessEntry>,
): Array<[number, ProcessEntry]> {
  const found: Array<[number, ProcessEntry]> = [];
  const parents = [root];
  for (let i = 0; i < parents.length; i++) {
    for (const [pid, entry] of table) {
      if (entry.ppid === parents[i]) {
        found.push([pid, entry]);
        parents.push(pid);
      }
    }
  }
  return found;
}

/**
 * Reads every process's parent and name from `/proc`; processes that vanish
 * while it reads are left out.
 */
export function readProcessTable(): Map<number, ProcessEntry> {
  const table = new Map<number, ProcessEntry>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    const stat = readOrNull(`/proc/${entry.name}/stat`);
    const parsed = stat === null ? null : parseStat(stat);
    if (parsed !== null) table.set(Number(entry.name), parsed);
  }
  return table;
}

function readOrNull(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** SIGKILLs processes that still exist under the same name (a reused pid is left alone). */
function killLeftovers(family: ReadonlyArray<[number, ProcessEntry]>): void {
  for (const [pid, entry] of family) {
    const stat = readOrNull(`/proc/${pid}/stat`);
    if (stat === null || parseStat(stat)?.comm !== entry.comm) continue;
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * The resident set size in a `/proc/PID/status` text.
 *
 * @param text The file's content.
 * @returns KiB, or null when there is no `VmRSS` line (a zombie has none).
 *
 * @example
 * ```ts
 * parseVmRssKiB("Name:\tnginx\nVmRSS:\t    2048 kB\n"); // 2048
 * ```
 */
export function parseVmRssKiB(text: string): number | null {
  const match = /^VmRSS:\s+([0-9]+) kB$/m.exec(text);
  return match === null ? null : Number(match[1]);
}

/** Resident memory of a process tree. */
export interface TreeRss {
  /** The sum over the process and its descendants, KiB. */
  readonly kib: number;
  /** How many processes were added up. */
  readonly processes: number;
}

/**
 * Resident memory of a process and all its descendants (nginx's master and
 * workers; a Deno process's workers are threads and already in its own).
 *
 * @param pid The root process.
 * @returns The sum and the number of processes.
 * @throws {Error} When the root process has no memory to read (it has exited).
 */
export function treeRss(pid: number): TreeRss {
  const own = parseVmRssKiB(readOrNull(`/proc/${pid}/status`) ?? "");
  if (own === null) throw new Error(`no resident memory readable for process ${pid}`);
  let kib = own;
  let processes = 1;
  for (const [child] of descendantsOf(pid, readProcessTable())) {
    const rss = parseVmRssKiB(readOrNull(`/proc/${child}/status`) ?? "");
    if (rss === null) continue;
    kib += rss;
    processes++;
  }
  return { kib, processes };
}
