/**
 * The benchmark's command line: flags → typed options, with a one-line
 * {@linkcode UsageError} for every mistake.
 *
 * @module
 */

import { SCENARIO_KEYS, type ScenarioKey, SERVER_KEYS, type ServerKey } from "./_scenarios.ts";

/** What a run of the benchmark measures and where it writes. */
export interface BenchOptions {
  /** Measured rounds per server and scenario; the median is reported. */
  readonly rounds: number;
  /** Length of one measured wrk run, whole seconds (wrk's unit). */
  readonly durationS: number;
  /** Length of the unrecorded warm-up run per server and scenario, whole seconds (0: none). */
  readonly warmupS: number;
  /** Scenarios to run, in table order. */
  readonly scenarios: readonly ScenarioKey[];
  /** Servers to compare, in table order; "base" exactly when `base` is set. */
  readonly servers: readonly ServerKey[];
  /** The revision run as "base" from a git worktree, or null. */
  readonly base: string | null;
  /** Markdown report path (the JSON goes next to it), or null to print only. */
  readonly out: string | null;
  /** The short run for CI: smaller defaults, no apt-get. */
  readonly smoke: boolean;
  /** Print the usage text and exit. */
  readonly help: boolean;
}

/** A mistake on the command line; its message is one line. */
export class UsageError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is wrong, on one line.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The servers `--servers` can name; "base" comes with `--base`. */
const PEER_KEYS: readonly ServerKey[] = SERVER_KEYS.filter((key) => key !== "base");

/** The usage text printed by `--help`. */
export const USAGE = `portico benchmark: portico against nginx, python http.server, Deno.serve,
caddy, Bun.serve, serve and http-server

Usage: deno run -A bench/bench.ts [OPTIONS]

Options:
  --servers LIST      Comma-separated, from: ${PEER_KEYS.join(",")} (default: all)
  --base REV          Also run portico at git revision REV (a worktree of this repository)
                      as the server "base", started exactly as ours is
  --scenarios LIST    Comma-separated, from: ${SCENARIO_KEYS.join(",")}
                      (default: all)
  --rounds N          Measured rounds per scenario, median reported (default: 3)
  --duration TIME     One measured run, whole seconds: 10, 10s or 1m (default: 10s)
  --warmup TIME       Unrecorded warm-up run per server and scenario (default: 2s; 0: none)
  --out PATH          Markdown report; the raw numbers go to the same path with .json
                      (default: bench/results.md, but print only with --smoke, --servers,
                      --scenarios or --base, so a partial run never replaces the full results)
  --smoke             A few seconds for CI: 12b, ours and deno, 1 round of 1s, 1s warm-up,
                      no apt-get; other flags still override
  -h, --help          Show this help and exit

It needs --allow-all: Deno lets a program read /proc/<pid> of another Deno process only with
every permission. When wrk, nginx or caddy is missing it runs apt-get install, and it installs
Bun, serve and http-server with npm into /tmp/portico-bench-peers (not with --smoke); a peer that
cannot be had is skipped. Servers run on CPU 0 and wrk on CPU 1 (taskset) when taskset is there.`;

const VALUE_FLAGS = ["servers", "base", "scenarios", "rounds", "duration", "warmup", "out"];
const SWITCHES = ["smoke", "help"];

const DEFAULTS = {
  full: { rounds: 3, durationS: 10, warmupS: 2, scenarios: SCENARIO_KEYS, servers: PEER_KEYS },
  smoke: { rounds: 1, durationS: 1, warmupS: 1, scenarios: ["12b"], servers: ["ours", "deno"] },
} as const;

/** Splits argv into flag values and switches; no interpretation yet. */
function splitFlags(args: readonly string[]): { values: Map<string, string>; switches: string[] } {
  const values = new Map<string, string>();
  const switches: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] === "-h" ? "--help" : args[i];
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (SWITCHES.includes(name) && eq === -1) {
      switches.push(name);
      continue;
    }
    if (!VALUE_FLAGS.includes(name)) throw new UsageError(`unknown flag ${arg} (see --help)`);
    if (values.has(name)) throw new UsageError(`--${name} given twice`);
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    // A value never starts with "-": "--base --smoke" is a missing value, and git gets no option.
    if (value === undefined || value === "" || value.startsWith("-")) {
      throw new UsageError(`--${name} needs a value`);
    }
    values.set(name, value);
  }
  return { values, switches };
}

/**
 * Parses a time in whole seconds: `10`, `10s` or `1m`.
 *
 * @param flag The flag's name, for the error message.
 * @param text The value as written.
 * @param min The smallest value allowed.
 * @returns Seconds.
 * @throws {UsageError} When the text is not such a time or is out of range.
 *
 * @example
 * ```ts
 * parseSeconds("duration", "1m", 1); // 60
 * ```
 */
export function parseSeconds(flag: string, text: string, min: number): number {
  const match = /^([0-9]{1,4})(s|m)?$/.exec(text);
  const seconds = match === null ? NaN : Number(match[1]) * (match[2] === "m" ? 60 : 1);
  if (!(seconds >= min && seconds <= 3600)) {
    throw new UsageError(`--${flag} must be whole seconds from ${min} to 3600 (10, 10s, 1m)`);
  }
  return seconds;
}

/** A comma-separated selection, in the order of `known` so tables keep their layout. */
function parseList<T extends string>(flag: string, text: string, known: readonly T[]): T[] {
  const wanted = text.split(",").map((name) => name.trim()).filter((name) => name !== "");
  const unknown = wanted.find((name) => !(known as readonly string[]).includes(name));
  if (unknown !== undefined) {
    throw new UsageError(`--${flag}: unknown name "${unknown}"; choose from ${known.join(",")}`);
  }
  if (wanted.length === 0) throw new UsageError(`--${flag} needs at least one name`);
  return known.filter((name) => wanted.includes(name));
}

/**
 * Turns the command line into options; `--smoke` changes the defaults and
 * explicit flags still win. `--base REV` adds the server "base" right after "ours".
 * Only a full run writes to `defaultOut` without being told to.
 *
 * @param args The arguments after `bench.ts`.
 * @param defaultOut The report path of a full run.
 * @returns The options.
 * @throws {UsageError} For any flag that is unknown, repeated or malformed.
 *
 * @example
 * ```ts
 * const options = parseOptions(["--servers", "ours,nginx", "--base", "main"], "results.md");
 * console.log(options.servers); // ["ours", "base", "nginx"]
 * ```
 */
export function parseOptions(args: readonly string[], defaultOut: string): BenchOptions {
  const { values, switches } = splitFlags(args);
  const smoke = switches.includes("smoke");
  const defaults = smoke ? DEFAULTS.smoke : DEFAULTS.full;
  const rounds = values.get("rounds") ?? String(defaults.rounds);
  if (!/^[0-9]{1,3}$/.test(rounds) || Number(rounds) < 1) {
    throw new UsageError(`--rounds must be an integer from 1 to 999, got "${rounds}"`);
  }
  const duration = values.get("duration");
  const warmup = values.get("warmup");
  const scenarios = values.get("scenarios");
  const servers = values.get("servers");
  const peers = servers === undefined ? defaults.servers : parseList("servers", servers, PEER_KEYS);
  const base = values.get("base") ?? null;
  return {
    rounds: Number(rounds),
    durationS: duration === undefined ? defaults.durationS : parseSeconds("duration", duration, 1),
    warmupS: warmup === undefined ? defaults.warmupS : parseSeconds("warmup", warmup, 0),
    scenarios: scenarios === undefined
      ? [...defaults.scenarios]
      : parseList("scenarios", scenarios, SCENARIO_KEYS),
    servers: SERVER_KEYS.filter((key) =>
      key === "base" ? base !== null : (peers as readonly string[]).includes(key)
    ),
    base,
    out: values.get("out") ??
      (smoke || ["servers", "scenarios", "base"].some((flag) => values.has(flag))
        ? null
        : defaultOut),
    smoke,
    help: switches.includes("help"),
  };
}
