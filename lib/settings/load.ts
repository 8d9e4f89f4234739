/**
 * The settings the program starts with: the command line, the environment
 * and the configuration file together. The file is the one `--config` names,
 * else `portico.json` or `portico.jsonc` in the working directory when one is
 * there. This is the only module of the settings that reads files; the rest
 * is pure, so the same bytes always give the same settings (a reload reads
 * the file again and gets what a start would).
 *
 * @module
 */

import { type CliCommand, parseCli } from "../cli.ts";
import { resolve } from "../deps.ts";
import { UserError } from "../errors.ts";
import { readConfigText } from "./config_file.ts";

/** What the program is asked to do, and the rules the configuration file gives. */
export interface Settings {
  /** What to do, as `parseCli` returns it (the file's values included). */
  readonly command: CliCommand;
  /** The absolute path of the file read, or null when there was none (or no need of one). */
  readonly configPath: string | null;
  /** What messages call the file: the path as given, or the base name found; null without one. */
  readonly configName: string | null;
  /** The file's `rules`, unchecked; undefined when absent. */
  readonly rules: unknown;
  /** The file's `cors`, unchecked; undefined when absent. */
  readonly cors: unknown;
  /** The file's `errorPages`, checked: status → path relative to the root. */
  readonly errorPages: Readonly<Record<string, string>>;
}

/** The names looked for in the working directory, in order, when `--config` is not given. */
export const CONFIG_NAMES: readonly string[] = Object.freeze(["portico.json", "portico.jsonc"]);

/** A configuration file to read: where it is, and what messages call it. */
interface ConfigLocation {
  /** The absolute path. */
  readonly path: string;
  /** The name in messages about its content: the path as given, or the base name found. */
  readonly name: string;
  /** The name in messages about reading it: `--config FILE`, or the base name found. */
  readonly label: string;
}

/** What a failure to read the file is called, by the error's class. */
const READ_FAILURES: readonly (readonly [new (...args: never[]) => Error, string])[] = [
  [Deno.errors.NotFound, "file not found"],
  [Deno.errors.IsADirectory, "is a directory, not a file"],
  [Deno.errors.PermissionDenied, "permission denied"],
  [Deno.errors.NotCapable, "reading it is not allowed (run with --allow-read)"],
];

/**
 * Reads the command line, the environment and the configuration file into
 * settings. `--help` and `--version` read no file.
 *
 * @param args The command-line arguments.
 * @param env Reads environment variables (only `PORT`).
 * @param cwd The working directory: where `portico.json` is looked for and
 * against which `--config` is resolved.
 * @param cpus How many workers `auto` means.
 * @returns The settings.
 * @throws {UserError} For a mistake on the command line or in the file, a
 * missing or unreadable `--config` file, or both `portico.json` and `portico.jsonc`.
 *
 * @example
 * ```ts
 * const settings = await loadSettings(Deno.args, Deno.env, Deno.cwd());
 * settings.configPath; // "/srv/site/portico.json", or null
 * ```
 */
export async function loadSettings(
  args: readonly string[],
  env: { get(name: string): string | undefined },
  cwd: string,
  cpus: number = navigator.hardwareConcurrency,
): Promise<Settings> {
  const command = parseCli(args, env, cpus);
  if (command.kind !== "serve") return withoutFile(command);
  const location = await findConfig(command.options.config, cwd);
  if (location === null) return withoutFile(command);
  const file = readConfigText(await readText(location), location.name);
  return Object.freeze({
    command: parseCli(args, env, cpus, file),
    configPath: location.path,
    configName: location.name,
    rules: file.rules,
    cors: file.cors,
    errorPages: file.errorPages,
  });
}

/** Settings when no file is read. */
function withoutFile(command: CliCommand): Settings {
  return Object.freeze({
    command,
    configPath: null,
    configName: null,
    rules: undefined,
    cors: undefined,
    errorPages: Object.freeze({}),
  });
}

/** The file `--config` names, else the one of {@linkcode CONFIG_NAMES} in `cwd`, else null. */
async function findConfig(given: string | null, cwd: string): Promise<ConfigLocation | null> {
  if (given !== null) return { path: resolve(cwd, given), name: given, label: `--config ${given}` };
  const found: ConfigLocation[] = [];
  for (const name of CONFIG_NAMES) {
    const location = { path: resolve(cwd, name), name, label: name };
    if (await isPresent(location)) found.push(location);
  }
  if (found.length > 1) {
    const names = found.map((location) => location.name).join(" and ");
    throw new UserError(`${names} are both in ${cwd}; keep one of them`);
  }
  return found[0] ?? null;
}

/** Whether anything is at the location (a file, or something reading will refuse). */
async function isPresent(location: ConfigLocation): Promise<boolean> {
  try {
    await Deno.stat(location.path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw readFailure(location, error);
  }
}

/** The file's text, decoded as UTF-8 (a byte-order mark dropped). */
async function readText(location: ConfigLocation): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(location.path);
  } catch (error) {
    throw readFailure(location, error);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UserError(`${location.name}: not UTF-8 text`);
  }
}

/** A failure to read the file, as one line: `--config portico.prod.json: file not found`. */
function readFailure(location: ConfigLocation, error: unknown): UserError {
  const known = READ_FAILURES.find(([type]) => error instanceof type);
  const detail = error instanceof Error ? error.message : String(error);
  const reason = known?.[1] ?? `cannot be read: ${detail}`;
  return new UserError(`${location.label}: ${reason}`);
}
