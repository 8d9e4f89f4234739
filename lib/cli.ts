/**
 * Command-line flags (and the configuration file's values) → typed options.
 * Which flags exist, what each takes, its range and its default all come from
 * the table in `lib/options.ts`; this module only reads them. A value's checks
 * are shared by both sources and word their refusals for either one
 * (`--max-body must be a size ...`, `portico.json: maxBodyBytes: expected a
 * size ...`). Pure: reads only the arguments, the environment and the file's
 * values it is given, and reports mistakes as {@linkcode UserError}.
 *
 * @module
 */

import { type Content, type Limits, SERVER_NAME, type Tuning } from "./config.ts";
import { CODINGS } from "./encoding/negotiate.ts";
import { parseArgs, type ParsedArgs } from "./deps.ts";
import { UserError } from "./errors.ts";
import {
  DURATION_UNITS,
  formatSize,
  type GroupValues,
  OPTION_ROWS,
  type OptionGroup,
  type OptionKind,
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
 * (root, port, hostname, quiet, app, workers, config), plus the groups.
 */
export interface CliOptions extends Readonly<GroupValues<"serve">> {
  /**
   * Whether a root was asked for, by `--root` or the file (otherwise a
   * missing `www/` falls back to the bundled site).
   */
  readonly rootGiven: boolean;
  /** Limits and timeouts. */
  readonly limits: Readonly<Limits>;
  /** The hot-file cache and the file buffers. */
  readonly tuning: Readonly<Tuning>;
  /** Compression and `Cache-Control`. */
  readonly content: Readonly<Content>;
  /** How the site answers paths: fallback, clean URLs, slashes, listings. */
  readonly site: Readonly<GroupValues<"site">>;
  /** Certificates, ACME, the redirect from HTTP and HSTS. */
  readonly https: Readonly<GroupValues<"https">>;
}

/**
 * Option values a configuration file gives, by flag name and as the command
 * line would have them (`{ "max-body": "10M", spa: true }`), and the name
 * its messages use.
 */
export interface FileFlags {
  /** The file's name in messages (`portico.json`). */
  readonly file: string;
  /** Values by flag name: the text the flag would take, or a switch's state. */
  readonly flags: Readonly<Record<string, string | boolean>>;
}

/**
 * What a refused value should have been, before it is worded for a flag or
 * for a file's key.
 */
export interface Refusal {
  /** What the value must be, as a noun phrase: `a size such as 1048576, 512K, 10M or 1G`. */
  readonly expected: string;
  /** The command line's words after the flag when they are not `must be` and `expected`. */
  readonly flagWords?: string;
  /** False when the command line's message does not repeat the refused text. */
  readonly quoted?: false;
}

/** Throws the {@linkcode UserError} a refusal becomes for one value from one source. */
export type Refuse = (refusal: Refusal) => never;

/** The size syntax (case spelled out, so it also serves as a JSON Schema pattern). */
export const SIZE_SYNTAX = "^([0-9]{1,15})\\s*(?:([kKmMgG])(?:[iI]?[bB])?|[bB])?$";
/** The duration syntax (case spelled out, so it also serves as a JSON Schema pattern). */
export const DURATION_SYNTAX = "^([0-9]{1,9}(?:\\.[0-9]{1,3})?)\\s*([mM][sS]|[sS]|[mM])?$";
const SIZE = new RegExp(SIZE_SYNTAX);
const DURATION = new RegExp(DURATION_SYNTAX);
/** The longest delay `setTimeout` honours (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The largest port number. */
export const MAX_PORT = 65535;

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
 * Parses the command line, taking what it does not say from the
 * configuration file's values when there are some: a flag wins over the
 * environment (`PORT`), which wins over the file, which wins over the default.
 *
 * @param args The arguments (`Deno.args`).
 * @param env Reads environment variables (only `PORT`).
 * @param cpus How many workers `--workers auto` (or `"workers": "auto"`) means.
 * @param file The configuration file's values, already checked (`readConfigText`).
 * @returns What to do.
 * @throws {UserError} For unknown flags, missing or invalid values.
 *
 * @example
 * ```ts
 * parseCli(["--port", "0"], { get: () => undefined });
 * // { kind: "serve", options: { root: "www", port: 0, hostname: "0.0.0.0", ... } }
 * parseCli([], { get: () => undefined }, 4, { file: "portico.json", flags: { spa: true } });
 * // { kind: "serve", options: { ..., site: { spa: true, ... } } }
 * ```
 */
export function parseCli(
  args: readonly string[],
  env: { get(name: string): string | undefined },
  cpus: number = navigator.hardwareConcurrency,
  file?: FileFlags,
): CliCommand {
  const flags = readFlags(args);
  if (flags.help) return { kind: "help" };
  if (flags.version) return { kind: "version" };

  const values: Record<OptionGroup, Record<string, unknown>> = {
    serve: {},
    site: {},
    https: {},
    limits: {},
    tuning: {},
    content: {},
  };
  for (const row of OPTION_ROWS) {
    if (row.kind === "command") continue;
    values[row.group][row.key] = readOption(row, pickSource(row, flags, env, file), cpus);
  }
  const options = {
    ...values.serve,
    rootGiven: flags.root !== undefined || file?.flags.root !== undefined,
    site: Object.freeze(values.site),
    https: Object.freeze(values.https),
    limits: Object.freeze(values.limits),
    tuning: Object.freeze(values.tuning),
    content: Object.freeze(values.content),
  };
  return { kind: "serve", options: options as unknown as CliOptions };
}

/** The flags as `parseArgs` reads them, after refusing unknown flags and stray arguments. */
function readFlags(args: readonly string[]): ParsedArgs {
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
  return flags;
}

/** Where a row's value comes from: its text (or switch state) and how to refuse it. */
interface Source {
  readonly value: string | boolean;
  readonly refuse: Refuse;
}

/**
 * The first source that gives the row a value: the flag (a switch only when
 * set), the row's variable (when set and not empty), the file; null for the
 * default.
 */
function pickSource(
  row: OptionRow,
  flags: ParsedArgs,
  env: { get(name: string): string | undefined },
  file: FileFlags | undefined,
): Source | null {
  const flag = flags[row.flag];
  if (typeof flag === "string" || flag === true) {
    return { value: flag, refuse: refuseFlag(`--${row.flag}`, String(flag)) };
  }
  const variable = row.env === undefined ? undefined : env.get(row.env);
  if (row.env !== undefined && variable !== undefined && variable !== "") {
    return { value: variable, refuse: refuseFlag(row.env, variable) };
  }
  const fromFile = file?.flags[row.flag];
  if (file !== undefined && fromFile !== undefined) {
    return { value: fromFile, refuse: refuseKey(file.file, row.key, fromFile) };
  }
  return null;
}

/** One option's value: parsed from its source, or the row's default when there is none. */
function readOption(row: OptionRow, source: Source | null, cpus: number): unknown {
  if (source === null) return row.kind === "boolean" ? row.default === true : row.default;
  if (typeof source.value === "boolean") return source.value;
  return readValue(row, source.value, source.refuse, cpus);
}

/**
 * Parses one value of a row's kind from its text, as the flag takes it.
 * Both the command line and the configuration file check values with it;
 * only the wording of a refusal differs, and `refuse` decides it.
 *
 * @param row The option's row (its kind, range and choices).
 * @param text The value as the flag would be given it (`10M`, `30s`, `br,gzip`).
 * @param refuse Throws the refusal, worded for where the text came from.
 * @param cpus How many workers `auto` means.
 * @returns The typed value (bytes, milliseconds, a frozen list, ...).
 * @throws {UserError} Through `refuse`, when the text is not a value of the kind.
 *
 * @example
 * ```ts
 * import { OPTIONS } from "./options.ts";
 *
 * const row = { key: "maxBodyBytes", ...OPTIONS.maxBodyBytes } as const;
 * readValue(row, "10M", refuseFlag("--max-body", "10M"), 1); // 10485760
 * ```
 */
export function readValue(row: OptionRow, text: string, refuse: Refuse, cpus: number): unknown {
  switch (row.kind) {
    case "string":
      if (text === "") {
        refuse({
          expected: expectation(row),
          flagWords: `needs ${expectation(row)}; see --help`,
          quoted: false,
        });
      }
      return text;
    case "host":
      return parseHost(text, refuse);
    case "port":
      return parseCount(text, refuse, expectation(row), MAX_PORT);
    case "codings":
      return parseCodings(text, refuse);
    case "field":
      return parseFieldValue(text, refuse);
    case "choice":
      return parseChoice(text, refuse, row);
    case "size":
      return checkSizeRange(sizeOf(text, refuse), row, refuse);
    case "duration":
      return durationOf(text, refuse, row.min ?? 0);
    case "count":
      if (row.auto && text === "auto") {
        return Math.min(Math.max(1, cpus), row.max ?? Number.MAX_SAFE_INTEGER);
      }
      return parseCount(
        text,
        refuse,
        expectation(row),
        row.max ?? Number.MAX_SAFE_INTEGER,
        row.min,
      );
  }
  throw new Error(`--${row.flag} has a kind that has no text to read: ${row.kind}`);
}

/** What a value of each kind must be, as a noun phrase. */
const EXPECTATIONS = {
  size: () => "a size such as 1048576, 512K, 10M or 1G",
  duration: (row) => timeExpected(row.min ?? 0),
  count: (row) => {
    const min = row.min ?? 0;
    const range = row.max === undefined ? `${min} or more` : `from ${min} to ${row.max}`;
    return `a whole number ${range}${row.auto ? ' or "auto"' : ""}`;
  },
  port: () => `a number from 0 to ${MAX_PORT}`,
  host: () => "an IP address or host name",
  string: (row) => row.needs ?? "a value",
  boolean: () => "true or false",
  codings: () => `codings from ${CODINGS_LIST} (or "off")`,
  field: () => 'a header value such as "no-cache" (or "off")',
  choice: (row) => `one of ${(row.choices ?? []).join(", ")}`,
  command: () => "nothing",
} as const satisfies Record<OptionKind, (row: OptionRow) => string>;

/** The codings a list may name, for messages. */
const CODINGS_LIST = CODINGS.join(", ");

/** What a duration must be, given the shortest allowed. */
function timeExpected(minMs: number): string {
  const least = minMs > 0 ? "more than 0" : "0 or more";
  return `a time ${least} such as 10, 2.5s, 500ms or 1m`;
}

/**
 * What a value of the row's kind must be, as a noun phrase, for messages.
 *
 * @param row The option's row.
 * @returns `a size such as 1048576, 512K, 10M or 1G`, `one of auto, always, never, as-is`, ...
 *
 * @example
 * ```ts
 * import { OPTIONS } from "./options.ts";
 *
 * expectation({ key: "spa", ...OPTIONS.spa }); // "true or false"
 * ```
 */
export function expectation(row: OptionRow): string {
  return EXPECTATIONS[row.kind](row);
}

/**
 * Refuses a value given by a flag or a variable: `--max-body must be a size
 * such as 1048576, 512K, 10M or 1G, not "ten"`.
 *
 * @param name The flag with its dashes, or the variable.
 * @param text The text given.
 * @returns The refusal's thrower.
 *
 * @example
 * ```ts
 * const refuse = refuseFlag("--port", "x");
 * try {
 *   refuse({ expected: "a number from 0 to 65535" });
 * } catch (error) {
 *   (error as Error).message; // '--port must be a number from 0 to 65535, not "x"'
 * }
 * ```
 */
export function refuseFlag(name: string, text: string): Refuse {
  return (refusal) => {
    const words = refusal.flagWords ?? `must be ${refusal.expected}`;
    const quote = refusal.quoted === false ? "" : `, not "${text}"`;
    throw new UserError(`${name} ${words}${quote}`);
  };
}

/**
 * Refuses a value a configuration file gives: `portico.json: maxBodyBytes:
 * expected a size such as 1048576, 512K, 10M or 1G, not "ten"`.
 *
 * @param file The file's name in messages.
 * @param path The value's JSON path (`maxBodyBytes`, `errorPages.404`).
 * @param value The value as the file has it.
 * @returns The refusal's thrower.
 *
 * @example
 * ```ts
 * const refuse = refuseKey("portico.json", "spa", "yes");
 * try {
 *   refuse({ expected: "true or false" });
 * } catch (error) {
 *   (error as Error).message; // 'portico.json: spa: expected true or false, not "yes"'
 * }
 * ```
 */
export function refuseKey(file: string, path: string, value: unknown): Refuse {
  return (refusal) => {
    throw new UserError(`${file}: ${path}: expected ${refusal.expected}, not ${shown(value)}`);
  };
}

/** Longest value a message repeats in full. */
const SHOWN_CHARS = 40;

/** A JSON value as a message shows it: as JSON, cut short when long. */
function shown(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > SHOWN_CHARS ? `${json.slice(0, SHOWN_CHARS - 3)}...` : json;
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

/** A comma list of distinct codings (`br,gzip`), or `off` for none. */
function parseCodings(text: string, refuse: Refuse): readonly string[] {
  if (text.trim().toLowerCase() === "off") return Object.freeze([]);
  const codings = text.split(",").map((part) => part.trim().toLowerCase());
  for (const coding of codings) {
    if (!(CODINGS as readonly string[]).includes(coding)) {
      const flagWords = `must list codings from ${CODINGS_LIST} (or be "off")`;
      refuse({ expected: EXPECTATIONS.codings(), flagWords });
    }
  }
  if (new Set(codings).size !== codings.length) {
    refuse({
      expected: "each coding at most once",
      flagWords: `names a coding more than once: "${text}"`,
      quoted: false,
    });
  }
  return Object.freeze(codings);
}

/** A header field value (visible ASCII, spaces and tabs inside), or `off` for none. */
function parseFieldValue(text: string, refuse: Refuse): string | null {
  const value = text.trim();
  if (value.toLowerCase() === "off") return null;
  if (value === "" || !/^[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?$/.test(value)) {
    refuse({ expected: EXPECTATIONS.field() });
  }
  return value;
}

/** One of a row's choices. */
function parseChoice(text: string, refuse: Refuse, row: OptionRow): string {
  if (!(row.choices ?? []).includes(text)) refuse({ expected: expectation(row) });
  return text;
}

/** A host name or an IP address; an IPv6 address may come in brackets. */
function parseHost(text: string, refuse: Refuse): string {
  const host = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (host === "" || /[\s/?#@]/.test(host)) refuse({ expected: EXPECTATIONS.host() });
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
  return sizeOf(text, refuseFlag(source, text));
}

/** A size in bytes, or refused. */
function sizeOf(text: string, refuse: Refuse): number {
  const match = SIZE.exec(text.trim());
  const unit = (match?.[2] ?? "").toLowerCase() as keyof typeof SIZE_UNITS;
  const bytes = match === null ? NaN : Number(match[1]) * SIZE_UNITS[unit];
  if (!Number.isSafeInteger(bytes)) refuse({ expected: EXPECTATIONS.size() });
  return bytes;
}

/** A size within the row's own range, or refused. */
function checkSizeRange(bytes: number, row: OptionRow, refuse: Refuse): number {
  const min = row.min ?? 0;
  const max = row.max ?? Number.MAX_SAFE_INTEGER;
  if (bytes < min || bytes > max) {
    const range = `from ${formatSize(min)} to ${formatSize(max)}`;
    refuse({ expected: `a size ${range}`, flagWords: `must be ${range}`, quoted: false });
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
  return durationOf(text, refuseFlag(source, text), minMs);
}

/** Milliseconds (whole) from `minMs` to the longest timer, or refused. */
function durationOf(text: string, refuse: Refuse, minMs: number): number {
  const match = DURATION.exec(text.trim());
  const unit = (match?.[2] ?? "s").toLowerCase() as keyof typeof DURATION_UNITS;
  const ms = match === null ? NaN : Math.round(Number(match[1]) * DURATION_UNITS[unit]);
  if (!Number.isSafeInteger(ms) || ms < minMs || ms > MAX_TIMER_MS) {
    refuse({ expected: timeExpected(minMs) });
  }
  return ms;
}

/** A whole number from `min` to `max`, or refused. */
function parseCount(text: string, refuse: Refuse, expected: string, max: number, min = 0): number {
  const n = /^[0-9]{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) refuse({ expected });
  return n;
}
