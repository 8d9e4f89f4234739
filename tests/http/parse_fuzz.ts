/**
 * Long runs of the parser properties in `_parse_properties.ts`.
 *
 * ```sh
 * deno run tests/http/parse_fuzz.ts [--runs N] [--seed S]
 * ```
 *
 * Runs every property N times (default 100000) from seed S (default: a
 * random one, printed so the run can be repeated) and prints each
 * property's run count and time. Exits 1 with the shrunk counterexample when
 * a property fails, 2 on a bad argument, 0 otherwise. Not named `*_test.ts`,
 * so `deno test tests/` leaves it out.
 *
 * @module
 */

import { PARSER_PROPERTIES } from "./_parse_properties.ts";

const USAGE = "usage: deno run tests/http/parse_fuzz.ts [--runs N] [--seed S]";
const DEFAULT_RUNS = 100_000;

interface FuzzOptions {
  runs: number;
  seed: number;
}

/** Parses `--runs N` and `--seed S` (also as `--runs=N`); returns an error message otherwise. */
function parseFuzzArgs(args: readonly string[]): FuzzOptions | string {
  const options: FuzzOptions = {
    runs: DEFAULT_RUNS,
    seed: (Date.now() ^ Math.floor(Math.random() * 0x1_0000_0000)) | 0,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (flag !== "--runs" && flag !== "--seed") return `Unknown argument: ${arg}`;
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) return `Missing value for ${flag}`;
    if (flag === "--runs") {
      if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
        return `Invalid --runs: ${value} (a whole number of at least 1)`;
      }
      options.runs = Number(value);
    } else {
      // fast-check seeds are 32-bit integers.
      if (!/^-?[0-9]+$/.test(value) || (Number(value) | 0) !== Number(value)) {
        return `Invalid --seed: ${value} (a 32-bit integer)`;
      }
      options.seed = Number(value);
    }
  }
  return options;
}

async function main(): Promise<number> {
  const options = parseFuzzArgs(Deno.args);
  if (typeof options === "string") {
    console.error(`${options}; ${USAGE}`);
    return 2;
  }
  console.log(`seed ${options.seed}, ${options.runs} runs per property`);
  const started = performance.now();
  let failures = 0;
  for (const property of PARSER_PROPERTIES) {
    const t0 = performance.now();
    const result = await property.run({ numRuns: options.runs, seed: options.seed });
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    if (result.failed) {
      console.log(`FAIL ${property.name}: after ${result.numRuns} runs, ${seconds}s`);
      console.log(result.report);
      failures++;
    } else {
      console.log(`ok   ${property.name}: ${result.numRuns} runs, ${seconds}s`);
    }
  }
  const total = ((performance.now() - started) / 1000).toFixed(1);
  const passed = PARSER_PROPERTIES.length - failures;
  console.log(
    `${passed} of ${PARSER_PROPERTIES.length} properties passed, seed ${options.seed}, ${total}s`,
  );
  if (failures === 0) return 0;
  console.log(
    `Repeat with: deno run tests/http/parse_fuzz.ts --runs ${options.runs} --seed ${options.seed}`,
  );
  return 1;
}

Deno.exit(await main());
