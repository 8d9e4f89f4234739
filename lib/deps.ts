/**
 * The only module that imports the standard library. It names `@std/*` by its
 * full npm specifier (so the library also loads from another project, which
 * has no import map of ours), a package that ships JavaScript without type
 * declarations, so every function used elsewhere is re-exported here with an
 * explicit signature; moving to `jsr:@std/*` changes this file alone.
 *
 * @module
 */

// Full specifiers rather than an import map: a project that imports this
// library by path or URL has no import map of ours.
// deno-lint-ignore no-import-prefix
import { parseArgs as stdParseArgs } from "npm:deno-std@1.4.0/cli/parse_args.js";
// deno-lint-ignore no-import-prefix
import { parse as stdParseJsonc } from "npm:deno-std@1.4.0/jsonc/parse.js";
// deno-lint-ignore no-import-prefix
import * as stdMediaTypes from "npm:deno-std@1.4.0/media_types/mod.js";
// deno-lint-ignore no-import-prefix
import * as stdPath from "npm:deno-std@1.4.0/path/mod.js";

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
 * Parses JSON with comments (`@std/jsonc` `parse`): `//` and `/* *\/`
 * comments and trailing commas are allowed. Object keys become own
 * properties, `__proto__` included.
 *
 * @param text The document.
 * @returns The value it holds.
 * @throws {SyntaxError} When the text is not JSON with comments.
 *
 * @example
 * ```ts
 * parseJsonc('{ "port": 8080, // the public port\n }'); // { port: 8080 }
 * ```
 */
export const parseJsonc: (text: string) => unknown = stdParseJsonc;

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

/**
 * `@peculiar/x509`: X.509 certificates, certificate requests and their
 * extensions, for the ACME client. Loaded on first use rather than with this
 * module, so that processes which never obtain a certificate (the serving
 * workers) neither pay for it nor get `reflect-metadata`'s global `Reflect`
 * additions, which the library needs loaded first.
 */
export type X509 = typeof import("npm:@peculiar/x509@2.2.0");

/**
 * Loads `@peculiar/x509` (and, first, the `reflect-metadata` it requires).
 *
 * @returns The library's module.
 *
 * @example
 * ```ts
 * const x509 = await loadX509();
 * const certificate = new x509.X509Certificate(pem);
 * ```
 */
export async function loadX509(): Promise<X509> {
  // deno-lint-ignore no-import-prefix
  await import("npm:reflect-metadata@0.2.2");
  // deno-lint-ignore no-import-prefix
  return await import("npm:@peculiar/x509@2.2.0");
}
