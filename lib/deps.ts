/**
 * The only module that imports the standard library. The import map resolves
 * `@std/*` through an npm package that ships JavaScript without type
 * declarations, so every function used elsewhere is re-exported here with an
 * explicit signature; switching the map to `jsr:@std/*` changes nothing else.
 *
 * @module
 */

import * as stdAssert from "@std/assert";
import { parseArgs as stdParseArgs } from "@std/cli/parse-args";
import * as stdMediaTypes from "@std/media-types";
import * as stdPath from "@std/path";

/** Options understood by {@linkcode parseArgs}; a subset of `@std/cli`'s. */
export interface ParseArgsOptions {
  /** Flags that take a string value. */
  string?: readonly string[];
  /** Flags that are switches. */
  boolean?: readonly string[];
  /** Short names: `{ h: "help" }`. */
  alias?: Readonly<Record<string, string>>;
  /** Called for every flag that is not declared; returning false drops it. */
  unknown?: (arg: string, key?: string, value?: unknown) => unknown;
  /** Stop parsing at `--` and keep the rest in `--`. */
  "--"?: boolean;
}

/** Parsed flags: declared strings, switches, and the positional arguments. */
export interface ParsedArgs {
  /** Positional arguments. */
  _: Array<string | number>;
  /** Flag values by name. */
  [flag: string]: unknown;
}

/**
 * Parses command-line arguments (`@std/cli` `parseArgs`).
 *
 * @param args The arguments, usually `Deno.args`.
 * @param options Which flags are strings, switches and aliases.
 * @returns The parsed flags.
 *
 * @example
 * ```ts
 * const flags = parseArgs(["--port", "0"], { string: ["port"] });
 * console.log(flags.port); // "0"
 * ```
 */
export const parseArgs: (args: readonly string[], options?: ParseArgsOptions) => ParsedArgs =
  stdParseArgs;

/**
 * The media type for a file extension with its charset parameter
 * (`@std/media-types` `contentType`), or undefined when unknown.
 *
 * @example
 * ```ts
 * contentType(".html"); // "text/html; charset=UTF-8"
 * ```
 */
export const contentType: (extensionOrType: string) => string | undefined =
  stdMediaTypes.contentType;

/** Joins path segments and normalises the result (`@std/path` `join`). */
export const join: (...paths: string[]) => string = stdPath.join;
/** Resolves a sequence of paths to an absolute path (`@std/path` `resolve`). */
export const resolve: (...paths: string[]) => string = stdPath.resolve;
/** The extension of a path, with its dot (`@std/path` `extname`). */
export const extname: (path: string) => string = stdPath.extname;
/** The last segment of a path (`@std/path` `basename`). */
export const basename: (path: string, suffix?: string) => string = stdPath.basename;
/** The directory part of a path (`@std/path` `dirname`). */
export const dirname: (path: string) => string = stdPath.dirname;
/** The path separator of this platform (`@std/path` `SEPARATOR`). */
export const SEPARATOR: string = stdPath.SEPARATOR;
/** Converts a `file:` URL to a path (`@std/path` `fromFileUrl`). */
export const fromFileUrl: (url: string | URL) => string = stdPath.fromFileUrl;
/** Converts an absolute path to a `file:` URL (`@std/path` `toFileUrl`). */
export const toFileUrl: (path: string) => URL = stdPath.toFileUrl;

/** Asserts that a value is truthy (`@std/assert` `assert`). */
export const assert: (expr: unknown, msg?: string) => asserts expr = stdAssert.assert;
/** Asserts deep equality (`@std/assert` `assertEquals`). */
export const assertEquals: <T>(actual: T, expected: T, msg?: string) => void =
  stdAssert.assertEquals;
/** Asserts deep inequality (`@std/assert` `assertNotEquals`). */
export const assertNotEquals: <T>(actual: T, expected: T, msg?: string) => void =
  stdAssert.assertNotEquals;
/** Asserts that a string contains another (`@std/assert` `assertStringIncludes`). */
export const assertStringIncludes: (actual: string, expected: string, msg?: string) => void =
  stdAssert.assertStringIncludes;
/** Asserts that a string matches a pattern (`@std/assert` `assertMatch`). */
export const assertMatch: (actual: string, expected: RegExp, msg?: string) => void =
  stdAssert.assertMatch;
/** Asserts that a function throws (`@std/assert` `assertThrows`). */
export const assertThrows: (
  fn: () => unknown,
  ErrorClass?: abstract new (...args: never[]) => Error,
  msgIncludes?: string,
) => Error = stdAssert.assertThrows;
/** Asserts that a promise rejects (`@std/assert` `assertRejects`). */
export const assertRejects: (
  fn: () => PromiseLike<unknown>,
  ErrorClass?: abstract new (...args: never[]) => Error,
  msgIncludes?: string,
) => Promise<Error> = stdAssert.assertRejects;
