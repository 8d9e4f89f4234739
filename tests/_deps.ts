/**
 * What the tests import from libraries: the assertions (kept out of `lib/`,
 * so serving code never loads them) and the path helpers `lib/deps.ts` has.
 *
 * @module
 */

// Full specifier, not an import map entry: deno.json's import map goes into
// the published package and the compiled binary, and test libraries belong in neither.
// deno-lint-ignore no-import-prefix
import * as stdAssert from "npm:deno-std@1.4.0/assert/mod.js";

export { fromFileUrl, join, toFileUrl } from "../lib/deps.ts";

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
