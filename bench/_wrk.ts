/**
 * wrk as a load generator: the Lua `done()` script that prints its totals as
 * JSON, the argument list, the parser for that JSON, the numbers derived from
 * it, and one bounded run.
 *
 * @module
 */

import type { Children } from "./_process.ts";

/** Marks the line the Lua script prints, so wrk's own summary can be ignored. */
const MARK = "PORTICO_WRK ";

/**
 * The Lua script given to wrk with `-s`: only `done()`, which runs once after
 * the run, so it costs nothing per request (a `response()` hook would).
 * Latencies are microseconds; `%.0f` prints integers without LuaJIT's `%d`
 * range limits.
 */
export const DONE_SCRIPT = `-- Written by portico's bench/bench.ts: wrk's totals as one JSON line.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "${MARK}{\\"requests\\":%.0f,\\"bytes\\":%.0f,\\"durationUs\\":%.0f," ..
    "\\"errors\\":{\\"connect\\":%.0f,\\"read\\":%.0f,\\"write\\":%.0f,\\"status\\":%.0f,\\"timeout\\":%.0f}," ..
    "\\"latencyP50Us\\":%.0f,\\"latencyP99Us\\":%.0f,\\"latencyMaxUs\\":%.0f}\\n",
    summary.requests, summary.bytes, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;

/** wrk's error counters (`status` counts responses with a status of 400 or more). */
export interface WrkErrors {
  /** Connections that could not be opened. */
  readonly connect: number;
  /** Failed reads (including connections reset or closed early). */
  readonly read: number;
  /** Failed writes. */
  readonly write: number;
  /** Responses with a status of 400 or more. */
  readonly status: number;
  /** Requests without a response within the timeout. */
  readonly timeout: number;
}

/** The totals of one wrk run. */
export interface WrkSummary {
  /** Completed responses. */
  readonly requests: number;
  /** Bytes read, headers included. */
  readonly bytes: number;
  /** The run's real length, in microseconds. */
  readonly durationUs: number;
  /** Error counters. */
  readonly errors: WrkErrors;
  /** Median latency, microseconds. */
  readonly latencyP50Us: number;
  /** 99th-percentile latency, microseconds. */
  readonly latencyP99Us: number;
  /** Largest latency, microseconds. */
  readonly latencyMaxUs: number;
}

/** What one wrk run asks for. */
export interface WrkRequest {
  /** The full URL. */
  readonly url: string;
  /** `-t`. */
  readonly threads: number;
  /** `-c`. */
  readonly connections: number;
  /** The run's length in milliseconds (wrk takes whole seconds; see {@linkcode wrkArgs}). */
  readonly durationMs: number;
  /** Extra request headers, `Name: value`. */
  readonly headers: readonly string[];
  /** Path of the file holding {@linkcode DONE_SCRIPT}. */
  readonly script: string;
}

/** wrk's per-request timeout: latencies above it count as timeouts, not samples. */
export const WRK_TIMEOUT_S = 10;

/**
 * The wrk argument list. wrk only takes whole seconds, so the duration is
 * rounded up; {@linkcode runWrk} interrupts it at the exact time, and wrk
 * reports the time it really ran.
 *
 * @param request What to run.
 * @returns Arguments for the `wrk` executable.
 *
 * @example
 * ```ts
 * wrkArgs({ url: "http://127.0.0.1:8000/12b", threads: 1, connections: 50,
 *   durationMs: 500, headers: [], script: "/tmp/done.lua" });
 * // ["-t1", "-c50", "-d1s", "--timeout", "10s", "-s", "/tmp/done.lua", "http://127.0.0.1:8000/12b"]
 * ```
 */
export function wrkArgs(request: WrkRequest): string[] {
  const headers = request.headers.flatMap((header) => ["-H", header]);
  return [
    `-t${request.threads}`,
    `-c${request.connections}`,
    `-d${Math.ceil(request.durationMs / 1000)}s`,
    "--timeout",
    `${WRK_TIMEOUT_S}s`,
    "-s",
    request.script,
    ...headers,
    request.url,
  ];
}

function count(record: Record<string, unknown>, key: string): number {
  const value = record[key];
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new SyntaxError(`wrk summary: "${key}" is not a count`);
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Finds and checks the line {@linkcode DONE_SCRIPT} printed in wrk's output.
 *
 * @param stdout Everything wrk wrote to standard output.
 * @returns The run's totals.
 * @throws {SyntaxError} When the line is missing or malformed.
 *
 * @example
 * ```ts
 * const summary = parseWrkSummary('Running 1s test\nPORTICO_WRK {"requests":10,"bytes":1200,' +
 *   '"durationUs":1000000,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},' +
 *   '"latencyP50Us":900,"latencyP99Us":2000,"latencyMaxUs":2500}\n');
 * console.log(summary.requests); // 10
 * ```
 */
export function parseWrkSummary(stdout: string): WrkSummary {
  const line = stdout.split("\n").find((text) => text.startsWith(MARK));
  if (line === undefined) throw new SyntaxError("wrk printed no summary");
  const parsed: unknown = JSON.parse(line.slice(MARK.length));
  if (!isRecord(parsed) || !isRecord(parsed.errors)) {
    throw new SyntaxError("wrk summary: not an object with errors");
  }
  const errors = parsed.errors;
  return {
    requests: count(parsed, "requests"),
    bytes: count(parsed, "bytes"),
    durationUs: count(parsed, "durationUs"),
    errors: {
      connect: count(errors, "connect"),
      read: count(errors, "read"),
      write: count(errors, "write"),
      status: count(errors, "status"),
      timeout: count(errors, "timeout"),
    },
    latencyP50Us: count(parsed, "latencyP50Us"),
    latencyP99Us: count(parsed, "latencyP99Us"),
    latencyMaxUs: count(parsed, "latencyMaxUs"),
  };
}

/**
 * Completed requests per second of a run.
 *
 * @example
 * ```ts
 * requestsPerSecond({ requests: 500, durationUs: 2_000_000 }); // 250
 * ```
 */
export function requestsPerSecond(summary: Pick<WrkSummary, "requests" | "durationUs">): number {
  return summary.durationUs > 0 ? summary.requests / (summary.durationUs / 1e6) : 0;
}

/**
 * Bytes read per second of a run, in gigabytes (10⁹ bytes).
 *
 * @example
 * ```ts
 * gigabytesPerSecond({ bytes: 3e9, durationUs: 2_000_000 }); // 1.5
 * ```
 */
export function gigabytesPerSecond(summary: Pick<WrkSummary, "bytes" | "durationUs">): number {
  return summary.durationUs > 0 ? summary.bytes / summary.durationUs / 1e3 : 0;
}

/**
 * All errors of a run, every kind added up.
 *
 * @example
 * ```ts
 * totalErrors({ connect: 1, read: 2, write: 0, status: 0, timeout: 3 }); // 6
 * ```
 */
export function totalErrors(errors: WrkErrors): number {
  return errors.connect + errors.read + errors.write + errors.status + errors.timeout;
}

/** How much longer than its duration wrk may run before it is killed. */
const OVERRUN_MS = 15_000;

/**
 * Runs wrk once (through the fd-limit wrapper) and returns its totals. It is
 * interrupted with SIGINT at the requested time when that is not a whole
 * second (wrk then stops and reports as usual), and killed when it runs
 * 15 s past its duration.
 *
 * @param children Where the process is registered so an interrupt stops it.
 * @param wrk The wrk executable.
 * @param request What to run.
 * @returns The totals.
 * @throws {Error} With wrk's last words when it printed no summary.
 */
export async function runWrk(
  children: Children,
  wrk: string,
  request: WrkRequest,
): Promise<WrkSummary> {
  const running = children.spawn("wrk", wrk, wrkArgs(request), { output: "piped" });
  const interrupt = request.durationMs % 1000 === 0
    ? undefined
    : setTimeout(() => running.signal("SIGINT"), request.durationMs);
  let killed = false;
  const kill = setTimeout(() => {
    killed = true;
    running.signal("SIGKILL");
  }, request.durationMs + OVERRUN_MS);
  try {
    const { stdout, stderr } = await running.output();
    if (killed) throw new Error(`wrk still running ${OVERRUN_MS / 1000} s past its duration`);
    try {
      return parseWrkSummary(stdout);
    } catch (error) {
      const words = lastLine(stderr) || lastLine(stdout) ||
        (error instanceof Error ? error.message : String(error));
      throw new Error(`wrk failed: ${words}`);
    }
  } finally {
    clearTimeout(interrupt);
    clearTimeout(kill);
    await children.stop(running);
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1)?.trim() ?? "";
}
