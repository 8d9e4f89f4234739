/**
 * Test helpers that run the program itself (main.ts) the way `deno task
 * serve` runs it: the same Deno flags and permissions, on a free loopback
 * port. Started programs are the ones of `_process.ts`.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes, join } from "../_deps.ts";
import denoJson from "../../deno.json" with { type: "json" };
import {
  EXIT_DEADLINE_MS,
  LISTENING_URL,
  REPO,
  spawnDeno,
  START_DEADLINE_MS,
  type Stopped,
} from "./_process.ts";

/** main.ts's path. */
export const MAIN: string = join(REPO, "main.ts");

/** The `deno run` flags of the serve task, so the tests start the program as the task does. */
export function serveTaskArgs(): string[] {
  const words = denoJson.tasks.serve.split(/\s+/);
  assertEquals(words.slice(0, 2), ["deno", "run"]);
  assert(!words.includes("-A") && !words.includes("--allow-all"), "serve must not use -A");
  assertEquals(words.at(-1), "main.ts");
  return words.slice(1, -1);
}

/** How long a run of main.ts that should end by itself may take before it is killed. */
const RUN_LIMIT_MS = 30_000;

/** How main.ts ended and what it printed. */
export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs main.ts to completion with the serve task's flags (killed after 30 s). */
export async function runMain(
  args: string[],
  vars: Record<string, string> = {},
): Promise<MainResult> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [...serveTaskArgs(), MAIN, ...args],
    env: { NO_COLOR: "1", ...vars },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(RUN_LIMIT_MS),
  });
  const output = await command.output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Asserts a one-line error, exit code 2, and no stack trace. */
export function assertUsageError(result: { code: number; stderr: string }, includes: string): void {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assertStringIncludes(lines[0], includes);
  assert(!/\bat .*:\d+:\d+/.test(result.stderr), "no stack trace");
}

/** A running main.ts and what it has printed so far. */
export interface RunningMain {
  /** The URL it printed, `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Its port. */
  readonly port: number;
  /** The process. */
  readonly child: Deno.ChildProcess;
  /**
   * Reads standard output until `pattern` matches, and returns all of it so
   * far; fails when the output ends first or nothing matches within
   * `timeoutMs` (30 s unless given).
   */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The same for standard error; returns the match. */
  waitForError(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /**
   * Sends a signal (SIGTERM unless given) and waits for the exit, reading
   * both outputs to their end; kills it when it does not exit within 30 s.
   */
  stop(signal?: Deno.Signal): Promise<MainResult>;
  /**
   * Waits for the exit without sending anything, reading both outputs to
   * their end; fails when it does not come within `timeoutMs` (30 s unless
   * given), leaving the process running for `stop()`.
   */
  exited(timeoutMs?: number): Promise<MainResult>;
}

function mainResult({ status, stdout, stderr }: Stopped): MainResult {
  return { code: status.code, stdout, stderr };
}

/**
 * Starts main.ts on 127.0.0.1 with a port the system picks and waits for it
 * to print its URL. Call `stop()` in a `finally`.
 */
export async function startMain(args: string[]): Promise<RunningMain> {
  const program = spawnDeno([
    ...serveTaskArgs(),
    MAIN,
    ...["--host", "127.0.0.1", "--port", "0"],
    ...args,
  ]);
  let url: RegExpExecArray;
  try {
    url = await program.waitFor(LISTENING_URL);
  } catch (error) {
    await program.stop("SIGKILL");
    throw error;
  }
  return {
    url: url[0],
    port: Number(url[1]),
    child: program.child,
    waitFor: async (pattern, timeoutMs = START_DEADLINE_MS) => {
      await program.waitFor(pattern, timeoutMs);
      return program.stdout;
    },
    waitForError: (pattern, timeoutMs = START_DEADLINE_MS) =>
      program.waitForError(pattern, timeoutMs),
    stop: async (signal) => mainResult(await program.stop(signal)),
    exited: async (timeoutMs = EXIT_DEADLINE_MS) => mainResult(await program.exited(timeoutMs)),
  };
}

/** Starts main.ts, runs `fn`, then stops it with SIGTERM and checks that it exits 0. */
export async function withMain(
  args: string[],
  fn: (main: RunningMain) => Promise<void>,
): Promise<void> {
  const main = await startMain(args);
  let result;
  try {
    await fn(main);
  } finally {
    result = await main.stop();
  }
  assertEquals(result.code, 0, result.stderr);
}
