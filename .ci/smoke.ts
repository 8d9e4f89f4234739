/**
 * The smoke test of a built server: starts a command on a free loopback
 * port, waits for the `http://127.0.0.1:PORT/` line it prints once it
 * listens, fetches `/`, compares the body byte for byte with a file, stops
 * the command and checks that it stopped cleanly. The release workflow runs
 * it against every compiled binary; the tests run it against `deno run
 * main.ts`, so both go through the same steps.
 *
 * ```sh
 * deno run --allow-run --allow-net --allow-read .ci/smoke.ts [--expect FILE] -- <command...>
 * ```
 *
 * `--host 127.0.0.1 --port 0` is appended to the command. It exits 0 with one
 * line on standard output when everything held, 1 with one line on standard
 * error saying what failed, and 2 when its own arguments are wrong. Every
 * wait has a deadline and the command is always reaped.
 *
 * @module
 */

/** The permissions the script needs: start the command, fetch from it, read the expected file. */
export const SMOKE_PERMISSIONS: readonly string[] = Object.freeze([
  "--allow-run",
  "--allow-net",
  "--allow-read",
]);

/** What is appended to the command: loopback only, on a port the system picks. */
export const LISTEN_ARGS: readonly string[] = Object.freeze(["--host", "127.0.0.1", "--port", "0"]);

/**
 * The file `/` must answer with unless `--expect` names another; relative to
 * the working directory.
 */
export const DEFAULT_EXPECT = "www/index.html";

/**
 * How long each step may take. Generous, for a loaded runner: they only
 * turn a hang into a failure.
 */
export const DEADLINES_MS = {
  /** From the start to the URL line. */
  start: 30_000,
  /** The whole answer to `GET /`, body included. */
  fetch: 10_000,
  /** From the stop signal to the exit (the server's shutdown timeout is 10 s). */
  exit: 15_000,
  /** From SIGKILL to the exit, and to the end of the command's outputs. */
  kill: 5_000,
} as const;

/** Exit codes of the script. */
export const SMOKE_EXIT = { passed: 0, failed: 1, usage: 2 } as const;

/** The prefix of both the success and the failure line. */
const PREFIX = "smoke: ";

/** The line a listening server prints, its URL as group 1. */
const URL_LINE = /^[ \t]*(http:\/\/127\.0\.0\.1:\d+\/)[ \t]*\r?$/m;

/** The most of each output kept for messages; the rest is read and dropped. */
const KEPT_CHARS = 64 * 1024;

/**
 * How the command is stopped: SIGTERM asks for the graceful stop. Windows
 * has no SIGTERM to deliver, so there it is ended outright and its exit
 * code says nothing.
 */
const STOP = Deno.build.os === "windows"
  ? { signal: "SIGKILL", graceful: false } as const
  : { signal: "SIGTERM", graceful: true } as const;

/** What to run and what `/` must answer. */
export interface SmokeOptions {
  /** The file whose bytes `/` must answer with. */
  readonly expect: string;
  /** The program and its arguments, before {@linkcode LISTEN_ARGS}. */
  readonly command: readonly string[];
}

/** A failure of the smoke test, or of its arguments; its message is the one line printed. */
export class SmokeError extends Error {
  override name = "SmokeError";
  /** The exit code it ends the script with. */
  readonly code: number;

  /**
   * @param message What failed, one line.
   * @param code {@linkcode SMOKE_EXIT}'s `failed` unless given.
   */
  constructor(message: string, code: number = SMOKE_EXIT.failed) {
    super(message);
    this.code = code;
  }
}

const USAGE = "usage: smoke.ts [--expect FILE] -- <command...>";

/**
 * Reads the script's arguments.
 *
 * @param args The arguments, such as `Deno.args`.
 * @returns The expected file and the command.
 * @throws {SmokeError} With exit code 2 when they are not `[--expect FILE] -- <command...>`.
 *
 * @example
 * ```ts
 * parseSmokeArgs(["--", "./dist/portico"]);
 * // { expect: "www/index.html", command: ["./dist/portico"] }
 * ```
 */
export function parseSmokeArgs(args: readonly string[]): SmokeOptions {
  const dashes = args.indexOf("--");
  if (dashes === -1 || dashes === args.length - 1) {
    throw new SmokeError(`${USAGE}: no command after --`, SMOKE_EXIT.usage);
  }
  let expect = DEFAULT_EXPECT;
  const own = args.slice(0, dashes);
  for (let i = 0; i < own.length; i++) {
    if (own[i] === "--expect" && i + 1 < own.length) expect = own[++i];
    else if (own[i].startsWith("--expect=")) expect = own[i].slice("--expect=".length);
    else throw new SmokeError(`${USAGE}: unexpected ${own[i]}`, SMOKE_EXIT.usage);
  }
  return { expect, command: args.slice(dashes + 1) };
}

/**
 * Settles like `promise`, or rejects with a {@linkcode SmokeError} saying
 * `failure` once `ms` have passed.
 */
async function within<T>(promise: Promise<T>, ms: number, failure: string): Promise<T> {
  // A promise left behind when time runs out may still fail; that is no news.
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SmokeError(failure)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** An output of the command, read to its end as it comes, the first {@linkcode KEPT_CHARS} kept. */
class OutputText {
  #text = "";
  #grew = Promise.withResolvers<boolean>();
  /** Settles when the output has ended. */
  readonly ended: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.ended = this.#read(stream);
  }

  /** What it has printed so far (up to the kept length). */
  get text(): string {
    return this.#text;
  }

  /** Resolves true when more text arrives, false once the output has ended. */
  more(): Promise<boolean> {
    return this.#grew.promise;
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const piece of stream.pipeThrough(new TextDecoderStream())) {
        if (this.#text.length < KEPT_CHARS) this.#text += piece.slice(0, KEPT_CHARS);
        this.#grew.resolve(true);
        this.#grew = Promise.withResolvers<boolean>();
      }
    } catch {
      // A broken pipe ends the output as its end does.
    } finally {
      this.#grew.resolve(false);
    }
  }
}

/** The command being smoke-tested and its two outputs. */
interface Running {
  readonly child: Deno.ChildProcess;
  readonly stdout: OutputText;
  readonly stderr: OutputText;
}

/** The last non-empty line of a text, or "" when there is none. */
function lastLine(text: string): string {
  return text.trimEnd().split("\n").at(-1)?.trim() ?? "";
}

/** Starts the command with {@linkcode LISTEN_ARGS}, standard input closed, both outputs piped. */
function start(command: readonly string[]): Running {
  const [program, ...args] = command;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args: [...args, ...LISTEN_ARGS],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new SmokeError(`cannot start ${program}: ${(error as Error).message}`);
  }
  return { child, stdout: new OutputText(child.stdout), stderr: new OutputText(child.stderr) };
}

/** Why the command exited before it listened, with the last line of its standard error. */
async function exitedEarly({ child, stderr }: Running): Promise<SmokeError> {
  const { code } = await within(
    child.status,
    DEADLINES_MS.kill,
    "the command closed its standard output without printing http://127.0.0.1:PORT/",
  );
  await within(stderr.ended, DEADLINES_MS.kill, "its standard error did not end").catch(() => {});
  const said = lastLine(stderr.text);
  return new SmokeError(
    `the command exited with code ${code} before printing http://127.0.0.1:PORT/` +
      (said === "" ? "" : `: ${said}`),
  );
}

/** Reads standard output until the URL line, within {@linkcode DEADLINES_MS}'s `start`. */
async function waitForUrl(running: Running): Promise<string> {
  const { stdout } = running;
  const ms = DEADLINES_MS.start;
  const end = performance.now() + ms;
  while (true) {
    const url = URL_LINE.exec(stdout.text)?.[1];
    if (url !== undefined) return url;
    const left = Math.max(0, end - performance.now());
    const failure = `the command printed no http://127.0.0.1:PORT/ line within ${ms} ms`;
    if (!await within(stdout.more(), left, failure)) throw await exitedEarly(running);
  }
}

/** Where two byte strings first differ; the shorter one's length when it begins the other. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Fetches `url` and checks the status and the body's bytes against `expected`. */
async function checkIndex(url: string, expected: Uint8Array, expectName: string): Promise<void> {
  const ms = DEADLINES_MS.fetch;
  let status: number;
  let body: Uint8Array;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(ms) });
    status = response.status;
    body = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    throw new SmokeError(
      timedOut
        ? `GET ${url} got no whole answer within ${ms} ms`
        : `GET ${url} failed: ${(error as Error).message}`,
    );
  }
  if (status !== 200) throw new SmokeError(`GET ${url} answered ${status}, not 200`);
  const at = firstDifference(body, expected);
  if (at < body.length || at < expected.length) {
    throw new SmokeError(
      `GET ${url} answered ${body.length} bytes that differ from ${expectName} ` +
        `(${expected.length} bytes) from byte ${at}`,
    );
  }
}

/** Sends a signal, unless the command has exited already. */
function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // It has exited.
  }
}

/** Stops the command as {@linkcode STOP} says and checks that a graceful stop exits 0. */
async function stop({ child }: Running): Promise<void> {
  signal(child, STOP.signal);
  const ms = DEADLINES_MS.exit;
  const { code } = await within(
    child.status,
    ms,
    `the command did not exit within ${ms} ms of ${STOP.signal}`,
  );
  if (STOP.graceful && code !== 0) {
    throw new SmokeError(`the command exited with code ${code} after ${STOP.signal}, not 0`);
  }
}

/** Makes sure the command has exited and its outputs are read to their end. */
async function reap({ child, stdout, stderr }: Running): Promise<void> {
  signal(child, "SIGKILL");
  const gone = Promise.all([child.status, stdout.ended, stderr.ended]);
  await within(gone, DEADLINES_MS.kill, "the command outlived SIGKILL").catch(() => {});
}

/** The expected body. */
async function readExpected(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    throw new SmokeError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * Runs the smoke test: start, URL line, `GET /` against the expected bytes,
 * stop. The command has exited when it settles, whatever happened.
 *
 * @param options The expected file and the command.
 * @returns The success line, without the `smoke: ` prefix.
 * @throws {SmokeError} Saying in one line which step failed.
 *
 * @example
 * ```ts
 * await smoke({ expect: "www/index.html", command: ["./dist/portico"] });
 * // "http://127.0.0.1:41234/ answered www/index.html (1405 bytes) and stopped"
 * ```
 */
export async function smoke(options: SmokeOptions): Promise<string> {
  const expected = await readExpected(options.expect);
  const running = start(options.command);
  try {
    const url = await waitForUrl(running);
    await checkIndex(url, expected, options.expect);
    await stop(running);
    return `${url} answered ${options.expect} (${expected.length} bytes) and stopped`;
  } finally {
    await reap(running);
  }
}

/**
 * The script: parses the arguments, runs {@linkcode smoke} and prints its
 * one line.
 *
 * @param args The arguments after the script's name.
 * @returns The exit code ({@linkcode SMOKE_EXIT}).
 *
 * @example
 * ```ts
 * Deno.exit(await main(["--", "./dist/portico"]));
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    console.log(PREFIX + await smoke(parseSmokeArgs(args)));
    return SMOKE_EXIT.passed;
  } catch (error) {
    if (!(error instanceof SmokeError)) throw error;
    console.error(PREFIX + error.message.replaceAll(/\s*\n\s*/g, " "));
    return error.code;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
