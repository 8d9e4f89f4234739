/**
 * Command-line flags → typed options. Pure: reads only the arguments and the
 * environment it is given, and reports mistakes as {@linkcode CliError}.
 *
 * @module
 */

import {
  DEFAULT_HOST,
  DEFAULT_LIMITS,
  DEFAULT_PORT,
  DEFAULT_ROOT,
  type Limits,
  SERVER_NAME,
} from "./config.ts";
import { parseArgs } from "./deps.ts";

/** What the command line asks for. */
export type CliCommand =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "serve"; readonly options: CliOptions };

/** Options for serving. */
export interface CliOptions {
  /** The document root as given (not yet resolved). */
  readonly root: string;
  /** Whether `--root` was given (otherwise a missing `www/` falls back to the bundled site). */
  readonly rootGiven: boolean;
  /** The port; 0 picks a free one. */
  readonly port: number;
  /** The address to listen on. */
  readonly hostname: string;
  /** No access log. */
  readonly quiet: boolean;
  /** The application module to load, or null to serve files only. */
  readonly app: string | null;
  /** Limits and timeouts. */
  readonly limits: Readonly<Limits>;
  /** How many sandboxed workers serve the address (each with its own listener). */
  readonly workers: number;
}

/** A mistake on the command line; its message is one line meant for the user. */
export class CliError extends Error {
  /** @param message What is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

const SIZE = /^([0-9]{1,15})\s*(?:([kmg])(?:i?b)?|b)?$/i;
const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const DURATION = /^([0-9]{1,9}(?:\.[0-9]{1,3})?)\s*(ms|s|m)?$/i;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };
/** The longest delay `setTimeout` honours (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The most workers `--workers` accepts. */
const MAX_WORKERS = 256;
/** The smallest and largest `--file-buffer`. */
const MIN_FILE_BUFFER_BYTES = 4 * 1024;
const MAX_FILE_BUFFER_BYTES = 64 * 1024 * 1024;

/** The text `--help` prints. */
export const HELP_TEXT = `${SERVER_NAME}: a static web server and application gateway for Deno

Usage: deno task serve [OPTIONS]
       ${SERVER_NAME} [OPTIONS]          (compiled binary)

Options:
  --root DIR       Document root to serve (default: ${DEFAULT_ROOT}, relative to the working directory;
                   with --app, files are served only when --root is given)
  --app MODULE     Run the Fetch application that MODULE exports as default (a function
                   (request) => Response, or an object with fetch); a GET or HEAD for a file
                   under --root is answered with the file, every other request goes to the app
  --port N         Port to listen on (default: $PORT, else ${DEFAULT_PORT}; 0 picks a free port)
  --host ADDR      Address to listen on (default: ${DEFAULT_HOST}; use :: for IPv6, 127.0.0.1 for local only)
  --workers N      Serve with N sandboxed workers sharing the port, or "auto" for one per
                   CPU (default: 1)
  --quiet          Do not print an access-log line per request
  -h, --help       Show this help and exit
  -V, --version    Print the version and exit

Limits (a TIME is seconds, or a number with ms, s or m; see README "Limits and security"):
  --max-body SIZE         Largest request body, in bytes or with K, M or G (powers of 1024)
                          (default: ${formatSize(DEFAULT_LIMITS.maxBodyBytes)}); larger → 413
  --header-timeout TIME   Time to receive a whole request head (default: ${
  formatDuration(DEFAULT_LIMITS.headerTimeoutMs)
}); → 408
  --idle-timeout TIME     Time a kept-alive connection may wait for a request (default: ${
  formatDuration(DEFAULT_LIMITS.idleTimeoutMs)
})
  --body-timeout TIME     Longest a request or response body may go without progress
                          (default: ${
  formatDuration(DEFAULT_LIMITS.bodyTimeoutMs)
}); then the connection closes
  --max-connections N     Connections served at once; more wait in the backlog (default: ${DEFAULT_LIMITS.maxConnections})
  --max-requests N        Requests per connection before it closes (default: 0, no limit)
  --shutdown-timeout TIME Time requests in progress get to finish on SIGINT or SIGTERM
                          (default: ${
  formatDuration(DEFAULT_LIMITS.shutdownTimeoutMs)
}); a second signal stops at once

Memory (see README "Performance"):
  --cache SIZE            Small files kept in memory, in all (default: ${
  formatSize(DEFAULT_LIMITS.cacheBytes)
}; 0 for none)
  --cache-file SIZE       Largest file kept in memory (default: ${
  formatSize(DEFAULT_LIMITS.cacheFileBytes)
})
  --file-buffer SIZE      Buffer that larger files are sent through (default: ${
  formatSize(DEFAULT_LIMITS.fileBufferBytes)
})
  --file-buffers N        Most such buffers at once (default: ${DEFAULT_LIMITS.fileBuffers})

Examples:
  deno task serve                                 serve ./${DEFAULT_ROOT} on port ${DEFAULT_PORT}
  deno task serve --root ./site --port 8080       serve another folder on another port
  deno task serve --host 127.0.0.1 --port 0       local only, on a free port
  deno task serve --host :: --port 8080           every IPv6 (and, on most systems, IPv4) address
  PORT=3000 deno task serve --quiet               port from the environment, no access log
  deno task serve --root www --app app.ts         files from ./www, everything else from app.ts
`;

const STRING_FLAGS = [
  "root",
  "port",
  "host",
  "app",
  "workers",
  "max-body",
  "header-timeout",
  "idle-timeout",
  "body-timeout",
  "max-connections",
  "max-requests",
  "shutdown-timeout",
  "cache",
  "cache-file",
  "file-buffer",
  "file-buffers",
] as const;
const BOOLEAN_FLAGS = ["quiet", "help", "version"] as const;

/**
 * Parses the command line.
 *
 * @param args The arguments (`Deno.args`).
 * @param env Reads environment variables (only `PORT`).
 * @param cpus How many workers `--workers auto` means.
 * @returns What to do.
 * @throws {CliError} For unknown flags, missing or invalid values.
 *
 * @example
 * ```ts
 * parseCli(["--port", "0"], { get: () => undefined });
 * // { kind: "serve", options: { root: "www", port: 0, hostname: "0.0.0.0", ... } }
 * ```
 */
export function parseCli(
  args: readonly string[],
  env: { get(name: string): string | undefined },
  cpus: number = navigator.hardwareConcurrency,
): CliCommand {
  // `deno task serve -- --port 0` passes the `--` through; it separates nothing here.
  if (args[0] === "--") args = args.slice(1);
  const flags = parseArgs(joinValues(args), {
    string: STRING_FLAGS,
    boolean: BOOLEAN_FLAGS,
    alias: { h: "help", V: "version" },
    unknown: (arg: string) => {
      if (arg.startsWith("-")) throw new CliError(`unknown option ${arg}; see --help`);
      throw new CliError(`unexpected argument ${arg}; see --help`);
    },
  });
  if (flags._.length > 0) throw new CliError(`unexpected argument ${flags._[0]}; see --help`);
  if (flags.help) return { kind: "help" };
  if (flags.version) return { kind: "version" };

  const rootFlag = flags.root as string | undefined;
  if (rootFlag === "") throw new CliError("--root needs a directory; see --help");
  const port = parsePort(flags.port as string | undefined, env.get("PORT"));
  const hostname = parseHost(flags.host as string | undefined);
  const app = flags.app as string | undefined;
  if (app === "") throw new CliError("--app needs a module path; see --help");
  const value = (name: (typeof STRING_FLAGS)[number]) => flags[name] as string | undefined;
  const size = (
    name: (typeof STRING_FLAGS)[number],
    fallback: number,
    min = 0,
    max = Number.MAX_SAFE_INTEGER,
  ) => {
    const text = value(name);
    if (text === undefined) return fallback;
    const bytes = parseSize(text, `--${name}`);
    if (bytes < min || bytes > max) {
      throw new CliError(`--${name} must be from ${formatSize(min)} to ${formatSize(max)}`);
    }
    return bytes;
  };
  const duration = (name: (typeof STRING_FLAGS)[number], fallback: number, min: number) => {
    const text = value(name);
    return text === undefined ? fallback : parseDuration(text, `--${name}`, min);
  };
  const count = (name: (typeof STRING_FLAGS)[number], fallback: number, min: number) => {
    const text = value(name);
    return text === undefined ? fallback : parseCount(text, `--${name}`, min);
  };
  const workersFlag = value("workers");
  return {
    kind: "serve",
    options: {
      root: rootFlag ?? DEFAULT_ROOT,
      rootGiven: rootFlag !== undefined,
      port,
      hostname,
      quiet: flags.quiet === true,
      app: app ?? null,
      limits: {
        ...DEFAULT_LIMITS,
        maxBodyBytes: size("max-body", DEFAULT_LIMITS.maxBodyBytes),
        headerTimeoutMs: duration("header-timeout", DEFAULT_LIMITS.headerTimeoutMs, 1),
        idleTimeoutMs: duration("idle-timeout", DEFAULT_LIMITS.idleTimeoutMs, 1),
        bodyTimeoutMs: duration("body-timeout", DEFAULT_LIMITS.bodyTimeoutMs, 1),
        maxConnections: count("max-connections", DEFAULT_LIMITS.maxConnections, 1),
        maxRequestsPerConnection: count("max-requests", DEFAULT_LIMITS.maxRequestsPerConnection, 0),
        shutdownTimeoutMs: duration("shutdown-timeout", DEFAULT_LIMITS.shutdownTimeoutMs, 0),
        cacheBytes: size("cache", DEFAULT_LIMITS.cacheBytes),
        cacheFileBytes: size("cache-file", DEFAULT_LIMITS.cacheFileBytes),
        fileBufferBytes: size(
          "file-buffer",
          DEFAULT_LIMITS.fileBufferBytes,
          MIN_FILE_BUFFER_BYTES,
          MAX_FILE_BUFFER_BYTES,
        ),
        fileBuffers: count("file-buffers", DEFAULT_LIMITS.fileBuffers, 0),
      },
      workers: workersFlag === undefined
        ? 1
        : workersFlag === "auto"
        ? Math.min(Math.max(1, cpus), MAX_WORKERS)
        : parseCount(workersFlag, "--workers", 1, MAX_WORKERS, ' or "auto"'),
    },
  };
}

/**
 * Rewrites `--flag value` as `--flag=value` for flags that take a value, so a
 * value that starts with `-` is still a value, and refuses missing values and
 * repeats.
 */
function joinValues(args: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const match = /^--?([a-z][a-z-]*)(=.*)?$/s.exec(args[i]);
    const name = match?.[1] ?? "";
    if (match === null || !(STRING_FLAGS as readonly string[]).includes(name)) {
      out.push(args[i]);
      continue;
    }
    if (seen.has(name)) throw new CliError(`--${name} is given more than once`);
    seen.add(name);
    if (match[2] !== undefined) {
      out.push(`--${name}${match[2]}`);
      continue;
    }
    const value = args[i + 1];
    if (value === undefined || value.startsWith("--")) {
      throw new CliError(`--${name} needs a value; see --help`);
    }
    out.push(`--${name}=${value}`);
    i++;
  }
  return out;
}

function parsePort(flag: string | undefined, env: string | undefined): number {
  const [text, source] = flag !== undefined ? [flag, "--port"] : [env, "PORT"];
  if (text === undefined || (flag === undefined && text === "")) return DEFAULT_PORT;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
    throw new CliError(`${source} must be a number from 0 to 65535, not "${text}"`);
  }
  return Number(text);
}

function parseHost(flag: string | undefined): string {
  if (flag === undefined) return DEFAULT_HOST;
  const host = flag.startsWith("[") && flag.endsWith("]") ? flag.slice(1, -1) : flag;
  if (host === "" || /[\s/?#@]/.test(host)) {
    throw new CliError(`--host must be an IP address or host name, not "${flag}"`);
  }
  return host;
}

/**
 * Parses a size such as `512`, `64K`, `10M`, `10MiB` or `1g`: bytes, or
 * kibibytes, mebibytes and gibibytes (as nginx reads `k` and `m`).
 *
 * @param text The size.
 * @param source The flag it came from, for the error message.
 * @returns The size in bytes.
 * @throws {CliError} For anything else.
 *
 * @example
 * ```ts
 * parseSize("10M", "--max-body"); // 10485760
 * ```
 */
export function parseSize(text: string, source: string): number {
  const match = SIZE.exec(text.trim());
  const bytes = match === null
    ? NaN
    : Number(match[1]) * SIZE_UNITS[(match[2] ?? "").toLowerCase()];
  if (!Number.isSafeInteger(bytes)) {
    throw new CliError(`${source} must be a size such as 1048576, 512K, 10M or 1G, not "${text}"`);
  }
  return bytes;
}

/**
 * Parses a duration: seconds (`10`, `2.5`), or a number with `ms`, `s` or
 * `m` (`500ms`, `30s`, `1m`).
 *
 * @param text The duration.
 * @param source The flag it came from, for the error message.
 * @param minMs The shortest duration allowed.
 * @returns Milliseconds (whole).
 * @throws {CliError} For anything else, or less than `minMs`.
 *
 * @example
 * ```ts
 * parseDuration("1.5s", "--idle-timeout", 1); // 1500
 * ```
 */
export function parseDuration(text: string, source: string, minMs: number): number {
  const match = DURATION.exec(text.trim());
  const ms = match === null
    ? NaN
    : Math.round(Number(match[1]) * DURATION_UNITS[(match[2] ?? "s").toLowerCase()]);
  if (!Number.isSafeInteger(ms) || ms < minMs || ms > MAX_TIMER_MS) {
    const least = minMs > 0 ? "more than 0" : "0 or more";
    throw new CliError(
      `${source} must be a time ${least} such as 10, 2.5s, 500ms or 1m, not "${text}"`,
    );
  }
  return ms;
}

/** A duration in the unit that reads best (`10s`, `1m`, `500ms`). */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function parseCount(
  text: string,
  source: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  alternative = "",
): number {
  const n = /^[0-9]{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new CliError(`${source} must be a whole number ${range}${alternative}, not "${text}"`);
  }
  return n;
}

/** A size in the largest unit that divides it (`10M`, `512K`, `100`). */
export function formatSize(bytes: number): string {
  for (const unit of ["G", "M", "K"]) {
    const size = SIZE_UNITS[unit.toLowerCase()];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
