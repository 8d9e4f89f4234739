/**
 * Command-line flags → typed options. Which flags exist, what each takes,
 * its range and its default all come from the table in `lib/options.ts`;
 * this module only reads them. Pure: reads only the arguments and the
 * environment it is given, and reports mistakes as {@linkcode UserError}.
 *
 * @module
 */

import { type Content, type Limits, SERVER_NAME, type Tuning } from "./config.ts";
import { CODINGS } from "./encoding/negotiate.ts";
import { parseArgs } from "./deps.ts";
import { UserError } from "./errors.ts";
import {
  DURATION_UNITS,
  formatSize,
  type GroupValues,
  OPTION_ROWS,
  type OptionGroup,
  type OptionRow,
  renderHelp,
  SIZE_UNITS,
} from "./options.ts";

export { formatDuration, formatSize } from "./options.ts";

/** What the command line asks for. */
export type CliCommand =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "serve"; readonly options: CliOptions };

/**
 * Options for serving: one field per `serve` row of the options table
 * (root, port, hostname, quiet, app, workers), plus the limits and tuning.
 */
export interface CliOptions extends Readonly<GroupValues<"serve">> {
  /** Whether `--root` was given (otherwise a missing `www/` falls back to the bundled site). */
  readonly rootGiven: boolean;
  /** Limits and timeouts. */
  readonly limits: Readonly<Limits>;
  /** The hot-file cache and the file buffers. */
  readonly tuning: Readonly<Tuning>;
  /** Compression and `Cache-Control`. */
  readonly content: Readonly<Content>;
}

const SIZE = /^([0-9]{1,15})\s*(?:([kmg])(?:i?b)?|b)?$/i;
const DURATION = /^([0-9]{1,9}(?:\.[0-9]{1,3})?)\s*(ms|s|m)?$/i;
/** The longest delay `setTimeout` honours (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The text `--help` prints. */
export const HELP_TEXT: string = renderHelp(SERVER_NAME);

/** Flags that take a value. */
const VALUE_FLAGS: readonly string[] = OPTION_ROWS
  .filter((row) => row.kind !== "boolean" && row.kind !== "command")
  .map((row) => row.flag);
/** Flags that are switches. */
const SWITCH_FLAGS: readonly string[] = OPTION_ROWS
  .filter((row) => row.kind === "boolean" || row.kind === "command")
  .map((row) => row.flag);
/** One-letter aliases: `{ h: "help" }`. */
const ALIASES: Readonly<Record<string, string>> = Object.fromEntries(
  OPTION_ROWS.filter((row) => row.short !== undefined).map((row) => [row.short, row.flag]),
);

/**
 * Parses the command line.
 *
 * @param args The arguments (`Deno.args`).
 * @param env Reads environment variables (only `PORT`).
 * @param cpus How many workers `--workers auto` means.
 * @returns What to do.
 * @throws {UserError} For unknown flags, missing or invalid values.
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
    string: VALUE_FLAGS,
    boolean: SWITCH_FLAGS,
    alias: ALIASES,
    unknown: (arg: string) => {
      if (arg.startsWith("-")) throw new UserError(`unknown option ${arg}; see --help`);
      throw new UserError(`unexpected argument ${arg}; see --help`);
    },
  });
  if (flags._.length > 0) throw new UserError(`unexpected argument ${flags._[0]}; see --help`);
  if (flags.help) return { kind: "help" };
  if (flags.version) return { kind: "version" };

  const values: Record<OptionGroup, Record<string, unknown>> = {
    serve: {},
    limits: {},
    tuning: {},
    content: {},
  };
  for (const row of OPTION_ROWS) {
    if (row.kind === "command") continue;
    values[row.group][row.key] = readOption(row, flags[row.flag], env, cpus);
  }
  const options = {
    ...values.serve,
    rootGiven: flags.root !== undefined,
    limits: Object.freeze(values.limits),
    tuning: Object.freeze(values.tuning),
    content: Object.freeze(values.content),
  };
  return { kind: "serve", options: options as unknown as CliOptions };
}

/** One option's value: parsed from its flag, else from its variable, else its default. */
function readOption(
  row: OptionRow,
  flag: unknown,
  env: { get(name: string): string | undefined },
  cpus: number,
): unknown {
  const name = `--${row.flag}`;
  if (row.kind === "boolean") return flag === true;
  if (row.kind === "port") return parsePort(flag as string | undefined, row, env);
  if (flag === undefined) return row.default;
  const text = flag as string;
  switch (row.kind) {
    case "string":
      if (text === "") throw new UserError(`${name} needs ${row.needs ?? "a value"}; see --help`);
      return text;
    case "host":
      return parseHost(text, name);
    case "codings":
      return parseCodings(text, name);
    case "field":
      return parseFieldValue(text, name);
    case "size": {
      const bytes = parseSize(text, name);
      const min = row.min ?? 0;
      const max = row.max ?? Number.MAX_SAFE_INTEGER;
      if (bytes < min || bytes > max) {
        throw new UserError(`${name} must be from ${formatSize(min)} to ${formatSize(max)}`);
      }
      return bytes;
    }
    case "duration":
      return parseDuration(text, name, row.min ?? 0);
    case "count":
      if (row.auto && text === "auto") {
        return Math.min(Math.max(1, cpus), row.max ?? Number.MAX_SAFE_INTEGER);
      }
      return parseCount(text, name, row.min ?? 0, row.max, row.auto ? ' or "auto"' : "");
  }
  throw new Error(`${name} has a kind the command line cannot read: ${row.kind}`);
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
    if (match === null || !VALUE_FLAGS.includes(name)) {
      out.push(args[i]);
      continue;
    }
    if (seen.has(name)) throw new UserError(`--${name} is given more than once`);
    seen.add(name);
    if (match[2] !== undefined) {
      out.push(`--${name}${match[2]}`);
      continue;
    }
    const value = args[i + 1];
    if (value === undefined || value.startsWith("--")) {
      throw new UserError(`--${name} needs a value; see --help`);
    }
    out.push(`--${name}=${value}`);
    i++;
  }
  return out;
}

/** The port from the flag, else from the row's variable (when set and not empty), else the default. */
function parsePort(
  flag: string | undefined,
  row: OptionRow,
  env: { get(name: string): string | undefined },
): number {
  const variable = row.env === undefined ? undefined : env.get(row.env);
  const [text, source] = flag !== undefined ? [flag, `--${row.flag}`] : [variable, row.env];
  if (text === undefined || (flag === undefined && text === "")) return row.default as number;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UserError(`${source} must be a number from 0 to 65535, not "${text}"`);
  }
  return Number(text);
}

/** A comma list of distinct codings (`br,gzip`), or `off` for none. */
function parseCodings(text: string, name: string): readonly string[] {
  if (text.trim().toLowerCase() === "off") return Object.freeze([]);
  const codings = text.split(",").map((part) => part.trim().toLowerCase());
  for (const coding of codings) {
    if (!(CODINGS as readonly string[]).includes(coding)) {
      throw new UserError(
        `${name} must list codings from ${CODINGS.join(", ")} (or be "off"), not "${text}"`,
      );
    }
  }
  if (new Set(codings).size !== codings.length) {
    throw new UserError(`${name} names a coding more than once: "${text}"`);
  }
  return Object.freeze(codings);
}

/** A header field value (visible ASCII, spaces and tabs inside), or `off` for none. */
function parseFieldValue(text: string, name: string): string | null {
  const value = text.trim();
  if (value.toLowerCase() === "off") return null;
  if (value === "" || !/^[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?$/.test(value)) {
    throw new UserError(
      `${name} must be a header value such as "no-cache" (or "off"), not "${text}"`,
    );
  }
  return value;
}

function parseHost(flag: string, name: string): string {
  const host = flag.startsWith("[") && flag.endsWith("]") ? flag.slice(1, -1) : flag;
  if (host === "" || /[\s/?#@]/.test(host)) {
    throw new UserError(`${name} must be an IP address or host name, not "${flag}"`);
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
 * @throws {UserError} For anything else.
 *
 * @example
 * ```ts
 * parseSize("10M", "--max-body"); // 10485760
 * ```
 */
export function parseSize(text: string, source: string): number {
  const match = SIZE.exec(text.trim());
  const unit = (match?.[2] ?? "").toLowerCase() as keyof typeof SIZE_UNITS;
  const bytes = match === null ? NaN : Number(match[1]) * SIZE_UNITS[unit];
  if (!Number.isSafeInteger(bytes)) {
    throw new UserError(`${source} must be a size such as 1048576, 512K, 10M or 1G, not "${text}"`);
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
 * @throws {UserError} For anything else, or less than `minMs`.
 *
 * @example
 * ```ts
 * parseDuration("1.5s", "--idle-timeout", 1); // 1500
 * ```
 */
export function parseDuration(text: string, source: string, minMs: number): number {
  const match = DURATION.exec(text.trim());
  const unit = (match?.[2] ?? "s").toLowerCase() as keyof typeof DURATION_UNITS;
  const ms = match === null ? NaN : Math.round(Number(match[1]) * DURATION_UNITS[unit]);
  if (!Number.isSafeInteger(ms) || ms < minMs || ms > MAX_TIMER_MS) {
    const least = minMs > 0 ? "more than 0" : "0 or more";
    throw new UserError(
      `${source} must be a time ${least} such as 10, 2.5s, 500ms or 1m, not "${text}"`,
    );
  }
  return ms;
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
    throw new UserError(`${source} must be a whole number ${range}${alternative}, not "${text}"`);
  }
  return n;
}
