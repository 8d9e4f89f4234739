/**
 * Starting the program as a separate process for a test: every wait has a
 * deadline, so a program that never prints what is expected fails the test
 * instead of hanging it, and `stop()` always reaps the process.
 *
 * @module
 */

import { fromFileUrl } from "../_deps.ts";

/** The repository root, where `deno run main.ts` is meant to be typed. */
export const REPO: string = fromFileUrl(new URL("../../", import.meta.url));

/** How long a program may take to print what a test waits for. */
export const START_DEADLINE_MS = 30_000;

/** How long a program may take to exit after SIGTERM before it is killed. */
const STOP_DEADLINE_MS = 20_000;

/** How a stopped program ended and everything it printed. */
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
  /**
   * Reads standard output until `pattern` matches what it has printed so far.
   *
   * @throws {Error} When the deadline passes or the program exits first; the
   * message carries both outputs so far.
   */
  waitFor(pattern: RegExp, deadlineMs?: number): Promise<RegExpExecArray>;
  /** Sends SIGTERM (SIGKILL if it has not exited in time) and reads both outputs to their end. */
  stop(): Promise<Stopped>;
}

/** Rejects with `message` after `ms`; `cancel()` clears the timer. */
function deadline(ms: number, message: string): { expired: Promise<never>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  // Only raced, never awaited alone: keep an unraced rejection from being unhandled.
  expired.catch(() => {});
  return { expired, cancel: () => clearTimeout(timer) };
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
 * permission prompt can never wait on a terminal) and both outputs piped.
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
  const stderrDone = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) stderr += text;
  })();
  // At most one read of standard output is outstanding; a wait that times out
  // leaves it for the next wait (or for stop) instead of losing its text.
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
    const timeout = deadline(deadlineMs, `nothing matched ${pattern} within ${deadlineMs} ms`);
    try {
      while (true) {
        const match = pattern.exec(stdout);
        if (match !== null) return match;
        if (!(await Promise.race([read(), timeout.expired]))) {
          throw new Error(`the program exited before printing ${pattern}`);
        }
      }
    } catch (error) {
      throw new Error(`${(error as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`);
    } finally {
      timeout.cancel();
    }
  };

  let stopped: Promise<Stopped> | null = null;
  const stop = (): Promise<Stopped> => {
    stopped ??= (async () => {
      const kill = (signal: Deno.Signal) => {
        try {
          child.kill(signal);
        } catch {
          // It has already exited.
        }
      };
      kill("SIGTERM");
      const timeout = deadline(STOP_DEADLINE_MS, "no exit after SIGTERM");
      let status: Deno.CommandStatus;
      try {
        status = await Promise.race([child.status, timeout.expired]);
      } catch {
        kill("SIGKILL");
        status = await child.status;
      } finally {
        timeout.cancel();
      }
      while (await read()) {
        // Standard output ends with the process.
      }
      await stderrDone;
      return { status, stdout, stderr };
    })();
    return stopped;
  };

  return { child, waitFor, stop };
}

/** The `http://127.0.0.1:PORT/` line the program prints once it listens. */
export const LISTENING_URL = /http:\/\/127\.0\.0\.1:\d+\//;
