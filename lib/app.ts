/**
 * Loading an application module for `--app`: the module's default export is
 * a Fetch handler function, or an object with a `fetch` method (the shape
 * `deno serve` runs).
 *
 * @module
 */

import { resolve, toFileUrl } from "./deps.ts";
import { UserError } from "./errors.ts";
import type { Handler } from "./handler.ts";
import { describeError, firstLine } from "./log.ts";

/**
 * The handler a module exports as its default: a function, or an object
 * whose `fetch` is called with the object as `this`.
 *
 * @param exports The module namespace.
 * @param name How to name the module in an error.
 * @returns The handler.
 * @throws {UserError} When the default export is neither.
 *
 * @example
 * ```ts
 * const handler = appHandler({ default: { fetch: () => new Response("hi") } }, "app.ts");
 * ```
 */
export function appHandler(exports: Record<string, unknown>, name: string): Handler {
  const app = exports.default;
  if (typeof app === "function") return app as Handler;
  if (typeof app === "object" && app !== null) {
    const fetch = (app as { fetch?: unknown }).fetch;
    if (typeof fetch === "function") {
      return (request, info) => (fetch as Handler).call(app, request, info);
    }
  }
  const found = app === undefined ? "no default export" : `a default export of type ${kind(app)}`;
  throw new UserError(
    `app ${name} has ${found}; export default a function (request) => Response ` +
      `or an object with a fetch(request) method`,
  );
}

/**
 * Finds an application module's file without loading it.
 *
 * @param path The module's path, relative to the working directory.
 * @param name How to name the module in an error.
 * @returns The absolute path.
 * @throws {UserError} When there is no such file or it cannot be read.
 */
export async function findApp(path: string, name: string = path): Promise<string> {
  const file = resolve(path);
  try {
    const info = await Deno.stat(file);
    if (!info.isFile) throw new UserError(`app ${name} is not a file`);
  } catch (error) {
    if (error instanceof UserError) throw error;
    if (error instanceof Deno.errors.NotFound) throw new UserError(`app ${name} does not exist`);
    throw new UserError(`cannot read app ${name}: ${describeError(error)}`);
  }
  return file;
}

/**
 * Imports an application module from a file path (relative to the working
 * directory) and returns its handler.
 *
 * @param path The module's path.
 * @param name How to name the module in an error (the path as the user gave it).
 * @returns The handler.
 * @throws {UserError} When the file is missing, fails to load, or exports no handler.
 */
export async function loadApp(path: string, name: string = path): Promise<Handler> {
  const file = await findApp(path, name);
  let exports: Record<string, unknown>;
  try {
    exports = await import(toFileUrl(file).href);
  } catch (error) {
    throw new UserError(`cannot load app ${name}: ${firstLine(describeError(error))}`);
  }
  return appHandler(exports, name);
}

function kind(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}
