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
  type RequestLimits,
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
  /** Request limits. */
  readonly limits: Readonly<RequestLimits>;
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
  --max-body SIZE  Largest request body, in bytes or with K, M or G (powers of 1024)
                   (default: ${formatSize(DEFAULT_LIMITS.maxBodyBytes)}); larger → 413
  --quiet          Do not print an access-log line per request
  -h, --help       Show this help and exit
  -V, --version    Print the version and exit

Examples:
  deno task serve                                 serve ./${DEFAULT_ROOT} on port ${DEFAULT_PORT}
  deno task serve --root ./site --port 8080       serve another folder on another port
  deno task serve --host 127.0.0.1 --port 0       local only, on a free port
  deno task serve --host :: --port 8080           every IPv6 (and, on most systems, IPv4) address
  PORT=3000 deno task serve --quiet               port from the environment, no access log
  deno task serve --root www --app app.ts         files from ./www, everything else from app.ts
`;

const STRING_FLAGS = ["root", "port", "host", "app", "max-body"] as const;
const BOOLEAN_FLAGS = ["quiet", "help", "version"] as const;

/**
 * Parses the command line.
 *
 * @param args The arguments (`Deno.args`).
 * @param env Reads environment variables (only `PORT`).
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
  const maxBody = flags["max-body"] as string | undefined;
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
        maxBodyBytes: maxBody === undefined
          ? DEFAULT_LIMITS.maxBodyBytes
          : parseSize(maxBody, "--max-body"),
      },
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

/** A size in the largest unit that divides it (`10M`, `512K`, `100`). */
export function formatSize(bytes: number): string {
  for (const unit of ["G", "M", "K"]) {
    const size = SIZE_UNITS[unit.toLowerCase()];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
