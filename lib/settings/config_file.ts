/**
 * The configuration file's text → its values, checked. The file is JSON
 * with comments: one key per option of the table in `lib/options.ts` (named
 * by the row's key, `maxBodyBytes`, `spa`), plus `$schema`, `rules`, `cors`
 * and `errorPages`. Each option's value becomes the text its flag would take
 * and is checked by the same parsers the flags use, so the file and the
 * command line accept exactly the same values. Pure: the text comes in, a
 * {@linkcode ConfigFile} or a one-line {@linkcode UserError} comes out.
 *
 * @module
 */

import { expectation, type FileFlags, readValue, type Refuse, refuseKey } from "../cli.ts";
import { parseJsonc } from "../deps.ts";
import { UserError } from "../errors.ts";
import { OPTION_ROWS, type OptionKind, type OptionRow } from "../options.ts";

/** What a configuration file says, checked, with the option values as the flags would have them. */
export interface ConfigFile extends FileFlags {
  /** The site's rules, as the file has them (checked elsewhere); undefined when absent. */
  readonly rules: unknown;
  /** The cross-origin rules, as the file has them (checked elsewhere); undefined when absent. */
  readonly cors: unknown;
  /** Pages served for error statuses (`{ "404": "404.html" }`), relative to the root. */
  readonly errorPages: Readonly<Record<string, string>>;
}

/**
 * The rows the file may set: every option that holds a value, but `config`.
 *
 * @example
 * ```ts
 * FILE_ROWS.some((row) => row.key === "maxBodyBytes"); // true
 * FILE_ROWS.some((row) => row.key === "config"); // false
 * ```
 */
export const FILE_ROWS: readonly OptionRow[] = Object.freeze(
  OPTION_ROWS.filter((row) => row.kind !== "command" && row.fileKey !== false),
);

/** The keys the file may have that are not options, and what becomes of each. */
const OTHER_KEYS = {
  $schema: "ignored",
  rules: "passed on",
  cors: "passed on",
  errorPages: "checked here",
} as const;

/** The schema the unknown-key message points to. */
const SCHEMA_FILE = "portico.schema.json";

/** A plain JSON object. */
type JsonObject = Readonly<Record<string, unknown>>;

const ROW_BY_KEY: ReadonlyMap<string, OptionRow> = new Map(
  FILE_ROWS.map((row) => [row.key, row]),
);

/**
 * Reads a configuration file's text: parses it as JSON with comments and
 * checks every key and value.
 *
 * @param text The file's text.
 * @param file The name messages use (`portico.json`, or the path given to `--config`).
 * @returns The values, frozen.
 * @throws {UserError} For a syntax error, a top level that is not an object,
 * an unknown key or a refused value, as one line:
 * `portico.json: spa: expected true or false, not "yes"`.
 *
 * @example
 * ```ts
 * readConfigText('{ "maxBodyBytes": "1M", "spa": true, }', "portico.json");
 * // { file: "portico.json", flags: { "max-body": "1M", spa: true }, rules: undefined,
 * //   cors: undefined, errorPages: {} }
 * ```
 */
export function readConfigText(text: string, file: string): ConfigFile {
  const data = parseDocument(text, file);
  const flags: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(data)) {
    const row = ROW_BY_KEY.get(key);
    if (row !== undefined) {
      flags[row.flag] = flagOf(row, value, file);
    } else if (!Object.hasOwn(OTHER_KEYS, key)) {
      throw new UserError(`${file}: ${jsonPath([key])}: unknown key; see ${SCHEMA_FILE}`);
    }
  }
  return Object.freeze({
    file,
    flags: Object.freeze(flags),
    rules: data.rules,
    cors: data.cors,
    errorPages: readErrorPages(data.errorPages, file),
  });
}

/** The document's top-level object, or a one-line refusal. */
function parseDocument(text: string, file: string): JsonObject {
  // A byte-order mark is not JSON, but editors write it.
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  let data: unknown;
  try {
    data = parseJsonc(body);
  } catch (error) {
    throw new UserError(`${file}: not valid JSON with comments: ${syntaxMessage(error, body)}`);
  }
  if (!isObject(data)) {
    throw new UserError(`${file}: expected an object at the top level, not ${typeOf(data)}`);
  }
  return data;
}

/** The parser's message on one line, with its position as a line and a column. */
function syntaxMessage(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/^Cannot parse JSONC: /, "")
    .replace(
      / in JSONC at position ([0-9]+)$/,
      (_, at: string) => ` at ${lineAndColumn(text, +at)}`,
    )
    .replace(/\s+/g, " ");
}

/** `line 3, column 7` for an offset into the text (both counted from 1). */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split(/\r\n|\r|\n/);
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/** How an option's JSON value becomes its flag's text; undefined for a value of the wrong type. */
const FLAG_TEXT = {
  boolean: (value) => typeof value === "boolean" ? value : undefined,
  size: numberOrString,
  duration: numberOrString,
  count: (value, row) =>
    typeof value === "number" || (row.auto === true && value === "auto")
      ? String(value)
      : undefined,
  port: (value) => typeof value === "number" ? String(value) : undefined,
  host: stringOnly,
  string: stringOnly,
  field: stringOnly,
  choice: stringOnly,
  codings: codingsText,
  command: () => undefined,
} as const satisfies Record<
  OptionKind,
  (value: unknown, row: OptionRow) => string | boolean | undefined
>;

function numberOrString(value: unknown): string | undefined {
  return typeof value === "number" || typeof value === "string" ? String(value) : undefined;
}

function stringOnly(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Codings as `--compress` takes them: the string itself, or an array joined (empty: `off`). */
function codingsText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) return undefined;
  if (!value.every((item) => typeof item === "string" && item !== "" && !item.includes(","))) {
    return undefined;
  }
  return value.length === 0 ? "off" : value.join(",");
}

/** An option's value as its flag would have it, checked by the flag's own parser. */
function flagOf(row: OptionRow, value: unknown, file: string): string | boolean {
  const refuse = refuseKey(file, jsonPath([row.key]), value);
  const text = FLAG_TEXT[row.kind](value, row);
  if (text === undefined) return refuse({ expected: expectation(row) });
  // Only checked here; `auto` is worked out when the options are built.
  if (typeof text === "string") readValue(row, text, refuse, 1);
  return text;
}

/** An error status, as a key of `errorPages` (also the schema's pattern). */
export const ERROR_STATUS_SYNTAX = "^[45][0-9][0-9]$";

/**
 * A page's path that stays below the root (also the schema's pattern): not
 * empty, with no `..` segment, backslash or NUL. A leading `/` is allowed:
 * it means the root.
 */
export const PAGE_PATH_SYNTAX = String.raw`^(?!.*(?:^|/)\.\.(?:/|$))/*[^/\\\u0000][^\\\u0000]*$`;

const ERROR_STATUS = new RegExp(ERROR_STATUS_SYNTAX);
const PAGE_PATH = new RegExp(PAGE_PATH_SYNTAX);

/** `errorPages`, checked: keys from `400` to `599`, each a path below the root. */
function readErrorPages(value: unknown, file: string): Readonly<Record<string, string>> {
  if (value === undefined) return Object.freeze({});
  if (!isObject(value)) {
    return refuseKey(file, "errorPages", value)({
      expected: 'an object such as { "404": "404.html" }',
    });
  }
  const pages: Record<string, string> = {};
  for (const [status, page] of Object.entries(value)) {
    const path = jsonPath(["errorPages", status]);
    if (!ERROR_STATUS.test(status)) {
      throw new UserError(`${file}: ${path}: expected an error status from 400 to 599 as the key`);
    }
    const refuse: Refuse = refuseKey(file, path, page);
    if (typeof page !== "string" || !PAGE_PATH.test(page)) {
      refuse({ expected: 'a path relative to the root such as "404.html"' });
    }
    pages[status] = page;
  }
  return Object.freeze(pages);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What a JSON value is, for the message about the top level. */
function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? "a string" : `a ${typeof value}`;
}

/** A key is written bare in a path when it is a name or a number; otherwise quoted in brackets. */
const BARE_KEY = /^(?:[A-Za-z_$][A-Za-z0-9_$]*|[0-9]+)$/;

/**
 * A JSON path as messages write it: `maxBodyBytes`, `errorPages.404`, `["a b"]`.
 *
 * @param keys The keys from the top level down.
 * @returns The path.
 *
 * @example
 * ```ts
 * jsonPath(["errorPages", "404"]); // "errorPages.404"
 * jsonPath(["max body"]); // '["max body"]'
 * ```
 */
export function jsonPath(keys: readonly string[]): string {
  return keys
    .map((key, i) => BARE_KEY.test(key) ? (i === 0 ? key : `.${key}`) : `[${JSON.stringify(key)}]`)
    .join("");
}
