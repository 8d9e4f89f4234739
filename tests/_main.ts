/**
 * Test helpers that run the program itself (main.ts) the way `deno task
 * serve` runs it: the same Deno flags and permissions, on a free loopback
 * port.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "./_deps.ts";
import denoJson from "../deno.json" with { type: "json" };
import { deadline } from "./_helpers.ts";

/** main.ts's path. */
export const MAIN = new URL("../main.ts", import.meta.url).pathname;

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

/** Runs main.ts to completion with the serve task's flags (killed after 30 s). */
export async function runMain(
  args: string[],
  vars: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
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

/** How main.ts ended and what it printed. */
export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How long main.ts may take to print what a test waits for: only a safety
 * net that turns a hang into a failure, generous for a loaded machine.
 */
const OUTPUT_TIMEOUT_MS = 20_000;
/** How long main.ts may take to exit once it should, before the test fails. */
const EXIT_TIMEOUT_MS = 30_000;

/** A running main.ts and what it has printed so far. */
export interface RunningMain {
  /** The URL it printed, `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Its port. */
  readonly port: number;
  /** The process. */
  readonly child: Deno.ChildProcess;
  /**
   * Reads standard output until `pattern` matches or the output ends, and
   * returns all of it so far; fails when neither happens within `timeoutMs`
   * (20 s unless given).
   */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /**
   * Sends a signal (SIGTERM unless given) and waits for the exit, reading
   * both outputs to their end; fails (after killing it) when it does not
   * exit within 30 s.
   */
  stop(signal?: Deno.Signal): Promise<MainResult>;
  /**
   * Waits for the exit without sending anything, reading both outputs to
   * their end; fails when it does not come within `timeoutMs` (30 s unless
   * given), leaving the process running for `stop()`.
   */
  exited(timeoutMs?: number): Promise<MainResult>;
}

/**
 * Starts main.ts on 127.0.0.1 with a port the system picks and waits for it
 * to print its URL. Call `stop()` in a `finally`.
 */
export async function startMain(args: string[]): Promise<RunningMain> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...serveTaskArgs(), MAIN, "--host", "127.0.0.1", "--port", "0", ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const errors = new Response(child.stderr).text();
  let output = "";
  // The read under way, kept when a wait gives up on it so that no output is lost.
  let next: Promise<ReadableStreamReadResult<string>> | null = null;
  /** Adds the next piece of output; false at its end. Fails with `message` after `ms`. */
  const readOutput = async (ms: number | null, message = ""): Promise<boolean> => {
    if (next === null) {
      const read = lines.read().finally(() => {
        next = null;
      });
      next = read;
    }
    const { value, done } = ms === null ? await next : await deadline(next, ms, message);
    if (done) return false;
    output += value;
    return true;
  };
  const waitFor = async (pattern: RegExp, timeoutMs = OUTPUT_TIMEOUT_MS): Promise<string> => {
    const end = performance.now() + timeoutMs;
    while (!pattern.test(output)) {
      const message = `no output matching ${pattern} within ${timeoutMs} ms; got: ${output}`;
      if (!await readOutput(Math.max(0, end - performance.now()), message)) break;
    }
    return output;
  };
  let ended: Promise<MainResult> | null = null;
  const exited = (timeoutMs = EXIT_TIMEOUT_MS): Promise<MainResult> => {
    ended ??= (async () => {
      while (await readOutput(null)) {
        // To the end of standard output.
      }
      const status = await child.status;
      return { code: status.code, stdout: output, stderr: await errors };
    })();
    return deadline(ended, timeoutMs, `main.ts did not exit within ${timeoutMs} ms`);
  };
  const stop = async (signal: Deno.Signal = "SIGTERM"): Promise<MainResult> => {
    try {
      child.kill(signal);
    } catch {
      // Already exited.
    }
    try {
      return await exited();
    } catch (error) {
      // Never leave it running.
      try {
        child.kill("SIGKILL");
      } catch {
        // It has just exited.
      }
      await ended;
      throw error;
    }
  };
  let printed: string;
  try {
    printed = await waitFor(/http:\/\/127\.0\.0\.1:\d+\//);
  } catch (error) {
    await stop("SIGKILL").catch(() => {});
    throw error;
  }
  const url = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(printed);
  if (url === null) {
    const result = await stop("SIGKILL");
    throw new Error(`main.ts printed no URL: ${result.stdout} ${result.stderr}`);
  }
  return { url: url[0], port: Number(url[1]), child, waitFor, stop, exited };
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
