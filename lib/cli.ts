/**
 * Command-line flags → typed options. Pure: reads only the arguments and the
 * environment it is given, and reports mistakes as {@linkcode CliError}.
 *
 * @module
 */

import { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_ROOT, SERVER_NAME } from "./config.ts";
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
}

/** A mistake on the command line; its message is one line meant for the user. */
export class CliError extends Error {
  /** @param message What is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** The text `--help` prints. */
export const HELP_TEXT = `${SERVER_NAME}: a static web server for Deno

Usage: deno task serve [OPTIONS]
       ${SERVER_NAME} [OPTIONS]          (compiled binary)

Options:
  --root DIR     Document root to serve (default: ${DEFAULT_ROOT}, relative to the working directory)
  --port N       Port to listen on (default: $PORT, else ${DEFAULT_PORT}; 0 picks a free port)
  --host ADDR    Address to listen on (default: ${DEFAULT_HOST}; use :: for IPv6, 127.0.0.1 for local only)
  --quiet        Do not print an access-log line per request
  -h, --help     Show this help and exit
  -V, --version  Print the version and exit

Examples:
  deno task serve                                 serve ./${DEFAULT_ROOT} on port ${DEFAULT_PORT}
  deno task serve --root ./site --port 8080       serve another folder on another port
  deno task serve --host 127.0.0.1 --port 0       local only, on a free port
  deno task serve --host :: --port 8080           every IPv6 (and, on most systems, IPv4) address
  PORT=3000 deno task serve --quiet               port from the environment, no access log
`;

const STRING_FLAGS = ["root", "port", "host"] as const;
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
  return {
    kind: "serve",
    options: {
      root: rootFlag ?? DEFAULT_ROOT,
      rootGiven: rootFlag !== undefined,
      port,
      hostname,
      quiet: flags.quiet === true,
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
    const match = /^--?([a-z]+)(=.*)?$/s.exec(args[i]);
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
