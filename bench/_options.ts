/**
 * The benchmark's command line: flags → typed options, with one-line
 * {@linkcode UsageError}s for every mistake.
 *
 * @module
 */

import { SCENARIO_KEYS, type ScenarioKey, SERVER_KEYS, type ServerKey } from "./_scenarios.ts";

/** What a run of the benchmark measures and where it writes. */
export interface BenchOptions {
  /** Measured rounds per scenario; the median is reported. */
  readonly rounds: number;
  /** Length of one measured wrk run, in milliseconds. */
  readonly durationMs: number;
  /** Length of the unrecorded warm-up run per server and scenario, in milliseconds (0: none). */
  readonly warmupMs: number;
  /** Scenarios to run, in table order. */
  readonly scenarios: readonly ScenarioKey[];
  /** Servers to compare, in table order. */
  readonly servers: readonly ServerKey[];
  /** Markdown report path (the JSON goes next to it), or null to print only. */
  readonly out: string | null;
  /** The short CI run: no apt-get, no 100 MiB file. */
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

/** The usage text printed by `--help`. */
export const USAGE = `portico benchmark: portico against nginx, python http.server and Deno.serve

Usage: deno run -A bench/bench.ts [OPTIONS]

Options:
  --rounds N          Measured rounds per scenario, median reported (default: 3)
  --duration TIME     Length of one measured run: seconds, or a number with ms, s or m
                      (default: 10s)
  --warmup TIME       Unrecorded warm-up run per server and scenario (default: 2s; 0 for none)
  --scenarios LIST    Comma-separated, from: ${SCENARIO_KEYS.join(",")}
                      (default: all)
  --servers LIST      Comma-separated, from: ${SERVER_KEYS.join(",")} (default: all)
  --out PATH          Markdown report; the raw numbers go to the same path with .json
                      (default: bench/results.md; with --smoke: print only)
  --smoke             A few seconds for CI: 12b only, ours and deno, 1 round of 1s,
                      0.5s warm-up, no apt-get; other flags still override
  -h, --help          Show this help and exit

It needs --allow-all: Deno lets a program read /proc/<pid> of another Deno process only
with every permission, and it starts servers, wrk and, when wrk or nginx is missing,
apt-get.`;

/** Flags that take a value. */
const VALUE_FLAGS = ["rounds", "duration", "warmup", "scenarios", "servers", "out"] as const;
type ValueFlag = typeof VALUE_FLAGS[number];

/** Flags that are switches. */
const SWITCHES = ["smoke", "help"] as const;
type Switch = typeof SWITCHES[number];

/** Defaults of a full run. */
const FULL_DEFAULTS = {
  rounds: 3,
  durationMs: 10_000,
  warmupMs: 2_000,
  scenarios: SCENARIO_KEYS,
  servers: SERVER_KEYS,
} as const;

/** Defaults of `--smoke`. */
const SMOKE_DEFAULTS = {
  rounds: 1,
  durationMs: 1_000,
  warmupMs: 500,
  scenarios: ["12b"],
  servers: ["ours", "deno"],
} as const;

/** Upper bounds that catch typos (a run of hours is not a benchmark anyone meant). */
const LIMITS = { rounds: 100, durationMs: 3_600_000, minDurationMs: 100 } as const;

function isValueFlag(name: string): name is ValueFlag {
  return (VALUE_FLAGS as readonly string[]).includes(name);
}

function isSwitch(name: string): name is Switch {
  return (SWITCHES as readonly string[]).includes(name);
}

/** Splits argv into flag values and switches; no interpretation yet. */
function splitFlags(
  args: readonly string[],
): { values: Map<ValueFlag, string>; switches: Set<Switch> } {
  const values = new Map<ValueFlag, string>();
  const switches = new Set<Switch>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-h") {
      switches.add("help");
      continue;
    }
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (isSwitch(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      switches.add(name);
      continue;
    }
    if (!isValueFlag(name)) throw new UsageError(`unknown flag --${name} (see --help)`);
    if (values.has(name)) throw new UsageError(`--${name} given twice`);
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
    values.set(name, value);
  }
  return { values, switches };
}

/**
 * Parses a time: plain seconds, or a number with `ms`, `s` or `m`.
 *
 * @param flag The flag's name, for the error message.
 * @param text The value as written.
 * @returns Milliseconds.
 * @throws {UsageError} When the text is not a time.
 *
 * @example
 * ```ts
 * parseDuration("duration", "1.5s"); // 1500
 * parseDuration("warmup", "500ms"); // 500
 * ```
 */
export function parseDuration(flag: string, text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(text);
  if (match === null) {
    throw new UsageError(`--${flag} must be a time such as 10s, 500ms or 1m, got "${text}"`);
  }
  const scale = match[2] === "ms" ? 1 : match[2] === "m" ? 60_000 : 1_000;
  return Math.round(Number(match[1]) * scale);
}

function parseRounds(text: string): number {
  if (!/^[0-9]{1,3}$/.test(text) || Number(text) < 1 || Number(text) > LIMITS.rounds) {
    throw new UsageError(`--rounds must be an integer from 1 to ${LIMITS.rounds}, got "${text}"`);
  }
  return Number(text);
}

/**
 * Parses a comma-separated selection against the known names; the result
 * keeps the known order (so tables always have the same layout).
 */
function parseList<T extends string>(flag: string, text: string, known: readonly T[]): T[] {
  const wanted = text.split(",").map((name) => name.trim()).filter((name) => name !== "");
  if (wanted.length === 0) throw new UsageError(`--${flag} needs at least one name`);
  for (const name of wanted) {
    if (!(known as readonly string[]).includes(name)) {
      throw new UsageError(`--${flag}: unknown name "${name}"; choose from ${known.join(",")}`);
    }
  }
  return known.filter((name) => wanted.includes(name));
}

function checkDuration(flag: string, ms: number, allowZero: boolean): number {
  if (allowZero && ms === 0) return ms;
  if (ms < LIMITS.minDurationMs || ms > LIMITS.durationMs) {
    throw new UsageError(
      `--${flag} must be from ${LIMITS.minDurationMs}ms to ${LIMITS.durationMs / 60_000}m` +
        (allowZero ? " (or 0)" : ""),
    );
  }
  return ms;
}

/**
 * Turns the command line into options; `--smoke` changes the defaults and
 * explicit flags still win.
 *
 * @param args The arguments after `bench.ts`.
 * @param defaultOut The report path of a full run.
 * @returns The options.
 * @throws {UsageError} For any flag that is unknown, repeated or malformed.
 *
 * @example
 * ```ts
 * const options = parseOptions(["--rounds", "5", "--servers", "ours,nginx"], "bench/results.md");
 * console.log(options.rounds, options.servers); // 5 ["ours", "nginx"]
 * ```
 */
export function parseOptions(args: readonly string[], defaultOut: string): BenchOptions {
  const { values, switches } = splitFlags(args);
  const smoke = switches.has("smoke");
  const defaults = smoke ? SMOKE_DEFAULTS : FULL_DEFAULTS;
  const text = (flag: ValueFlag) => values.get(flag);
  const duration = text("duration");
  const warmup = text("warmup");
  const scenarios = text("scenarios");
  const servers = text("servers");
  const rounds = text("rounds");
  return {
    rounds: rounds === undefined ? defaults.rounds : parseRounds(rounds),
    durationMs: duration === undefined
      ? defaults.durationMs
      : checkDuration("duration", parseDuration("duration", duration), false),
    warmupMs: warmup === undefined
      ? defaults.warmupMs
      : checkDuration("warmup", parseDuration("warmup", warmup), true),
    scenarios: scenarios === undefined
      ? [...defaults.scenarios]
      : parseList("scenarios", scenarios, SCENARIO_KEYS),
    servers: servers === undefined
      ? [...defaults.servers]
      : parseList("servers", servers, SERVER_KEYS),
    out: text("out") ?? (smoke ? null : defaultOut),
    smoke,
    help: switches.has("help"),
  };
}
