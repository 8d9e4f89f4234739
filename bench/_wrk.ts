/**
 * wrk as the load generator: a Lua `done()` hook that prints the totals as
 * one JSON line, one bounded run, and the numbers derived from it.
 *
 * @module
 */

import { capture, placed, type Placement } from "./_servers.ts";

/** Marks the line the Lua hook prints, so wrk's own summary can be ignored. */
const MARK = "PORTICO_WRK ";

/**
 * The Lua script given to wrk with `-s`: only `done()`, which runs once after
 * the run, so it costs nothing per request. `%.0f` prints integers without
 * LuaJIT's `%d` range limits; latencies are microseconds.
 */
export const DONE_SCRIPT = `-- Written by portico's bench/bench.ts: wrk's totals as one JSON line.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("${MARK}{\\"requests\\":%.0f,\\"bytes\\":%.0f,\\"durationUs\\":%.0f," ..
    "\\"p99Us\\":%.0f,\\"errors\\":{\\"connect\\":%.0f,\\"read\\":%.0f,\\"write\\":%.0f," ..
    "\\"status\\":%.0f,\\"timeout\\":%.0f}}\\n", summary.requests, summary.bytes, summary.duration,
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
`;

/** wrk's error counters (`status`: responses with a status of 400 or more). */
export interface WrkErrors {
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly status: number;
  readonly timeout: number;
}

/** The totals of one wrk run. */
export interface WrkSummary {
  /** Completed responses. */
  readonly requests: number;
  /** Bytes read, heads included. */
  readonly bytes: number;
  /** How long it really ran, microseconds. */
  readonly durationUs: number;
  /** 99th-percentile latency, microseconds. */
  readonly p99Us: number;
  /** Error counters. */
  readonly errors: WrkErrors;
}

/** What one wrk run asks for. */
export interface WrkRequest {
  /** The full URL. */
  readonly url: string;
  /** `-t`. */
  readonly threads: number;
  /** `-c`. */
  readonly connections: number;
  /** `-d`, whole seconds. */
  readonly seconds: number;
  /** Extra request headers, `Name: value`. */
  readonly headers: readonly string[];
  /** Path of the file holding {@linkcode DONE_SCRIPT}. */
  readonly script: string;
  /** wrk's CPUs and open files; omitted: anywhere, with this process's limit. */
  readonly placement?: Placement;
}

/**
 * The totals {@linkcode DONE_SCRIPT} printed, found in wrk's output.
 *
 * @param stdout Everything wrk wrote to standard output.
 * @returns The totals.
 * @throws {SyntaxError} When the line is missing or not JSON.
 *
 * @example
 * ```ts
 * parseWrkSummary('PORTICO_WRK {"requests":10,"bytes":1200,"durationUs":1000000,"p99Us":900,' +
 *   '"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0}}\n').requests; // 10
 * ```
 */
export function parseWrkSummary(stdout: string): WrkSummary {
  const line = stdout.split("\n").find((text) => text.startsWith(MARK));
  if (line === undefined) throw new SyntaxError("wrk printed no summary");
  return JSON.parse(line.slice(MARK.length));
}

/**
 * Runs wrk once; it is killed when it runs 15 s past its duration.
 *
 * @param wrk The wrk executable.
 * @param request What to run.
 * @param signal Aborting it stops wrk (Ctrl-C of the whole run).
 * @param taskset The taskset executable for `request.placement`'s CPUs, or null: no pinning.
 * @returns The totals.
 * @throws {Error} With wrk's last words when it printed no summary.
 */
export async function runWrk(
  wrk: string,
  request: WrkRequest,
  signal: AbortSignal,
  taskset: string | null = null,
): Promise<WrkSummary> {
  const args = [
    `-t${request.threads}`,
    `-c${request.connections}`,
    `-d${request.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    request.script,
    ...request.headers.flatMap((header) => ["-H", header]),
    request.url,
  ];
  const limit = AbortSignal.timeout(request.seconds * 1000 + 15_000);
  const placement = request.placement ?? { cpus: null, openFiles: null };
  const line = placed(wrk, args, placement, taskset);
  const { stdout, stderr } = await capture(line.command, line.args, {
    signal: AbortSignal.any([signal, limit]),
  });
  try {
    return parseWrkSummary(stdout);
  } catch {
    const words = `${stderr}\n${stdout}`.trim().split("\n").at(-1) || "no output";
    throw new Error(`wrk failed: ${limit.aborted ? "still running 15 s past its end" : words}`);
  }
}

/**
 * Requests per second of a run.
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
 * Gigabytes (10⁹ bytes) read per second of a run.
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
 * Every error of a run, added up.
 *
 * @example
 * ```ts
 * totalErrors({ connect: 1, read: 2, write: 0, status: 0, timeout: 3 }); // 6
 * ```
 */
export function totalErrors(errors: WrkErrors): number {
  return errors.connect + errors.read + errors.write + errors.status + errors.timeout;
}
