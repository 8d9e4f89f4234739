/**
 * The fairness generator (`bench/fairness.mjs`, run by Node.js) as the
 * harness uses it: one bounded run, and the JSON line it prints.
 *
 * @module
 */

import { capture, placed, type Placement } from "./_servers.ts";

/** The generator's script. */
export const FAIRNESS_SCRIPT: string = decodeURIComponent(
  new URL("./fairness.mjs", import.meta.url).pathname,
);

/**
 * Longest the generator's connect phase can last: its 10 s deadline for a
 * connect, found by a sweep that runs once a second.
 */
const CONNECT_PHASE_S = 11;

/** The generator's error counters; see `bench/fairness.mjs` for what each kind is. */
export interface FairnessErrors {
  readonly connect: number;
  readonly reset: number;
  readonly closed: number;
  readonly timeout: number;
  readonly status: number;
  readonly protocol: number;
}

/** What one run of the generator printed. */
export interface FairnessSummary {
  /** Connections kept open (each replaced when it failed). */
  readonly connections: number;
  /** The measured window, as it really lasted. */
  readonly seconds: number;
  readonly requestsPerSecond: number;
  /** Requests completed by all connections in the window. */
  readonly requests: number;
  /** Requests completed by the least served connection. */
  readonly min: number;
  /** 1st percentile of the requests completed per connection. */
  readonly p1: number;
  readonly median: number;
  /** 99th percentile. */
  readonly p99: number;
  /** Requests completed by the most served connection. */
  readonly max: number;
  /** (p99 − p1) ÷ median; null when the median is 0. */
  readonly spread: number | null;
  /** Connections that completed no request in the window. */
  readonly starved: number;
  /** Errors over the whole run, connecting included. */
  readonly errors: FairnessErrors;
  /** Seconds until every connection had connected or failed once. */
  readonly connectSeconds: number;
  /** The generator's CPU time ÷ the window: near 1, it was the limit. */
  readonly clientCpu: number;
}

/** What one run of the generator asks for. */
export interface FairnessRequest {
  /** The server's address. */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /** The URL path requested. */
  readonly path: string;
  /** Keep-alive connections. */
  readonly connections: number;
  /** The measured window, whole seconds. */
  readonly seconds: number;
  /** The warm-up before it, whole seconds. */
  readonly warmupS: number;
  /** Extra request headers, `Name: value`. */
  readonly headers: readonly string[];
  /** The generator's CPUs and open files. */
  readonly placement: Placement;
}

/**
 * The summary the generator printed: its last line of output, JSON.
 *
 * @param stdout Everything it wrote to standard output.
 * @returns The summary.
 * @throws {SyntaxError} When there is no such line, or it is not a summary.
 *
 * @example
 * ```ts
 * parseFairness('{"connections":2,"requests":10,"min":5,"median":5,"max":5,"errors":{}}\n')
 *   .requests; // 10
 * ```
 */
export function parseFairness(stdout: string): FairnessSummary {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  const summary = JSON.parse(line === "" ? "null" : line);
  if (typeof summary?.requests !== "number" || typeof summary?.errors !== "object") {
    throw new SyntaxError("fairness generator printed no summary");
  }
  return summary;
}

/**
 * Every error of a run, added up.
 *
 * @example
 * ```ts
 * fairnessErrors({ connect: 1, reset: 0, closed: 2, timeout: 0, status: 0, protocol: 0 }); // 3
 * ```
 */
export function fairnessErrors(errors: FairnessErrors): number {
  return Object.values(errors).reduce((sum, n) => sum + n, 0);
}

/**
 * Runs the generator once with Node.js; it is killed when it runs 15 s past
 * its longest possible end.
 *
 * @param node The node executable.
 * @param request What to run.
 * @param signal Aborting it stops the generator (Ctrl-C of the whole run).
 * @param taskset The taskset executable for `request.placement`'s CPUs, or null: no pinning.
 * @returns Its summary.
 * @throws {Error} With its last words when it printed no summary.
 */
export async function runFairness(
  node: string,
  request: FairnessRequest,
  signal: AbortSignal,
  taskset: string | null = null,
): Promise<FairnessSummary> {
  const args = [
    FAIRNESS_SCRIPT,
    request.host,
    String(request.port),
    request.path,
    String(request.connections),
    String(request.seconds),
    String(request.warmupS),
    ...request.headers,
  ];
  const limitS = CONNECT_PHASE_S + request.warmupS + request.seconds + 15;
  const limit = AbortSignal.timeout(limitS * 1000);
  const line = placed(node, args, request.placement, taskset);
  const { stdout, stderr } = await capture(line.command, line.args, {
    signal: AbortSignal.any([signal, limit]),
  });
  try {
    return parseFairness(stdout);
  } catch {
    const words = `${stderr}\n${stdout}`.trim().split("\n").at(-1) || "no output";
    throw new Error(
      `fairness generator failed: ${limit.aborted ? "still running 15 s past its end" : words}`,
    );
  }
}
