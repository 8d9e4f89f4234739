/**
 * Starting a program as a separate process for a test: every wait has a
 * deadline, so a program that never prints what is expected (or never
 * exits) fails the test instead of hanging it, and `stop()` always reaps
 * the process.
 *
 * @module
 */

import { fromFileUrl } from "../_deps.ts";
import { deadline } from "../_helpers.ts";

/** The repository root, where `deno run main.ts` is meant to be typed. */
export const REPO: string = fromFileUrl(new URL("../../", import.meta.url));

/**
 * How long a program may take to print what a test waits for: only a safety
 * net that turns a hang into a failure, generous for a loaded machine.
 */
export const START_DEADLINE_MS = 30_000;

/** How long a program may take to exit once it should, before the test fails. */
export const EXIT_DEADLINE_MS = 30_000;

/** How a program ended and everything it printed. */
export interface Stopped {
  /** Its exit status. */
  readonly status: Deno.CommandStatus;
  /** All of its standard output. */
  readonly stdout: string;
  /** All of its standard error. */
  readonly stderr: string;
}

/** A running program. */
export interface Spawned {
  /** The process. */
  readonly child: Deno.ChildProcess;
  /** What it has printed on standard output so far (as far as a wait has read). */
  readonly stdout: string;
  /**
   * Reads standard output until `pattern` matches what it has printed so far.
   *
   * @throws {Error} When the deadline (30 s unless given) passes or the
   * program exits first; the message carries both outputs so far.
   */
  waitFor(pattern: RegExp, deadlineMs?: number): Promise<RegExpExecArray>;
  /** The same for standard error. */
  waitForError(pattern: RegExp, deadlineMs?: number): Promise<RegExpExecArray>;
  /**
   * Waits for the exit without sending anything, reading both outputs to
   * their end.
   *
   * @throws {Error} When it does not come within `deadlineMs` (30 s unless
   * given); the program is left running for `stop()`.
   */
  exited(deadlineMs?: number): Promise<Stopped>;
  /**
   * Sends `signal` (SIGTERM unless given), SIGKILL if the program has not
   * exited within 30 s, and reads both outputs to their end.
   */
  stop(signal?: Deno.Signal): Promise<Stopped>;
}

/**
 * Starts `Deno.execPath()` with `args` in `cwd` (see {@linkcode spawnProgram}).
 *
 * @param args The arguments after `deno`.
 * @param cwd The working directory.
 * @returns The running program; call `stop()` in a `finally`.
 */
export function spawnDeno(args: readonly string[], cwd: string = REPO): Spawned {
  return spawnProgram(Deno.execPath(), args, cwd);
}

/**
 * Starts `program` with `args` in `cwd`, with standard input closed (so a
 * permission prompt can never wait on a terminal), `NO_COLOR=1` and both
 * outputs piped.
 *
 * @param program The executable.
 * @param args Its arguments.
 * @param cwd The working directory.
 * @returns The running program; call `stop()` in a `finally`.
 */
export function spawnProgram(program: string, args: readonly string[], cwd: string): Spawned {
  const child = new Deno.Command(program, {
    args: [...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  let stderr = "";
  // Renewed whenever standard error grows (or ends), for waitForError.
  let stderrGrew = Promise.withResolvers<boolean>();
  const stderrDone = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += text;
      stderrGrew.resolve(true);
      stderrGrew = Promise.withResolvers<boolean>();
    }
    stderrGrew.resolve(false);
  })();
  // At most one read of standard output is outstanding; a wait that times out
  // leaves it for the next wait (or for the exit) instead of losing its text.
  let pending: Promise<boolean> | null = null;
  /** Appends the next piece of standard output; false at its end. */
  const read = (): Promise<boolean> => {
    pending ??= out.read().then(({ value, done }) => {
      pending = null;
      if (!done) stdout += value;
      return !done;
    });
    return pending;
  };

  const waitFor = async (
    pattern: RegExp,
    deadlineMs = START_DEADLINE_MS,
  ): Promise<RegExpExecArray> => {
    const end = performance.now() + deadlineMs;
    try {
      while (true) {
        const match = pattern.exec(stdout);
        if (match !== null) return match;
        const left = Math.max(0, end - performance.now());
        if (!await deadline(read(), left, `nothing matched ${pattern} within ${deadlineMs} ms`)) {
          throw new Error(`the program exited before printing ${pattern}`);
        }
      }
    } catch (error) {
      throw new Error(`${(error as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`);
    }
  };

  const waitForError = async (
    pattern: RegExp,
    deadlineMs = START_DEADLINE_MS,
  ): Promise<RegExpExecArray> => {
    const end = performance.now() + deadlineMs;
    while (true) {
      const match = pattern.exec(stderr);
      if (match !== null) return match;
      const left = Math.max(0, end - performance.now());
      const grew = stderrGrew.promise;
      if (!await deadline(grew, left, `nothing on stderr matched ${pattern}\nstderr: ${stderr}`)) {
        throw new Error(`the program exited before printing ${pattern} on stderr`);
      }
    }
  };

  // The exit and the ends of both outputs, read together so that a full pipe
  // can never keep the program from exiting.
  let ended: Promise<Stopped> | null = null;
  const end = (): Promise<Stopped> => {
    ended ??= (async () => {
      const drained = (async () => {
        while (await read()) {
          // Standard output ends with the process.
        }
      })();
      const [status] = await Promise.all([child.status, drained, stderrDone]);
      return { status, stdout, stderr };
    })();
    return ended;
  };

  const exited = (deadlineMs = EXIT_DEADLINE_MS): Promise<Stopped> =>
    deadline(end(), deadlineMs, `the program did not exit within ${deadlineMs} ms`);

  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // It has already exited.
    }
  };
  const stop = async (signal: Deno.Signal = "SIGTERM"): Promise<Stopped> => {
    kill(signal);
    try {
      return await exited();
    } catch {
      // Never leave it running.
      kill("SIGKILL");
      return await end();
    }
  };

  return {
    child,
    get stdout() {
      return stdout;
    },
    waitFor,
    waitForError,
    exited,
    stop,
  };
}

/** The `http://127.0.0.1:PORT/` line the program prints once it listens; group 1 is the port. */
export const LISTENING_URL = /http:\/\/127\.0\.0\.1:(\d+)\//;
