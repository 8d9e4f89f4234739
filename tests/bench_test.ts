/**
 * The benchmark harness: its option parsing (a table of command lines), and
 * `bench/bench.ts --smoke` end to end as a subprocess, which must exit 0 and
 * write a report with a positive requests-per-second number for ours. The
 * smoke run needs wrk; without it that test is ignored and its name says why.
 * Nothing here depends on how fast the machine is.
 */

import { assert, assertEquals, assertThrows } from "./_deps.ts";
import { type BenchOptions, parseOptions, UsageError } from "../bench/_options.ts";
import { which } from "../bench/_servers.ts";

const BENCH = decodeURIComponent(new URL("../bench/bench.ts", import.meta.url).pathname);

/** Command lines and the options they give (only the fields named). */
const PARSED: ReadonlyArray<[string[], Partial<BenchOptions>]> = [
  [[], { servers: ["ours", "nginx", "python", "deno"], base: null, out: "results.md", rounds: 3 }],
  [["--base", "main"], {
    servers: ["ours", "base", "nginx", "python", "deno"],
    base: "main",
    out: null,
  }],
  [["--base", "main", "--out", "a.md"], { base: "main", out: "a.md" }],
  [["--base=HEAD~3", "--servers", "nginx,ours"], {
    servers: ["ours", "base", "nginx"],
    base: "HEAD~3",
  }],
  [["--servers", "nginx", "--base", "v0.1.0"], { servers: ["base", "nginx"] }],
  [["--smoke", "--base", "HEAD"], { servers: ["ours", "base", "deno"], out: null, rounds: 1 }],
  [["--scenarios", "304,12b", "--duration", "1m", "--warmup", "0"], {
    scenarios: ["12b", "304"],
    durationS: 60,
    warmupS: 0,
  }],
];

Deno.test("parseOptions() reads each command line of the table", () => {
  for (const [args, expected] of PARSED) {
    const options = parseOptions(args, "results.md");
    const picked = Object.fromEntries(
      Object.keys(expected).map((key) => [key, options[key as keyof BenchOptions]]),
    );
    assertEquals(picked, expected, args.join(" "));
  }
});

/** Command lines that are mistakes, and a part of the message each gives. */
const REJECTED: ReadonlyArray<[string[], string]> = [
  [["--base"], "--base needs a value"],
  [["--base="], "--base needs a value"],
  [["--base", "--smoke"], "--base needs a value"],
  [["--base", "-x"], "--base needs a value"],
  [["--base", "a", "--base", "b"], "--base given twice"],
  [["--servers", "base"], 'unknown name "base"'],
  [["--duration", "0.5s"], "--duration must be whole seconds"],
  [["--rounds", "0"], "--rounds must be an integer"],
  [["main"], 'unexpected argument "main"'],
];

Deno.test("parseOptions() rejects a --base without a revision and other mistakes", () => {
  for (const [args, message] of REJECTED) {
    assertThrows(() => parseOptions(args, "results.md"), UsageError, message);
  }
});

/** Why the smoke run cannot be tested here, or null. */
const SKIP_REASON = which("wrk") === null
  ? "wrk is not installed (apt-get install wrk), and --smoke does not install it"
  : null;

/** The cell in column `column` of the first row starting with `row`, in the table that has that column. */
function tableCell(markdown: string, row: string, column: string): string | null {
  const cells = (line: string) =>
    line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
  const lines = markdown.split("\n");
  const header = lines.findIndex((line) => line.startsWith("|") && cells(line).includes(column));
  if (header === -1) return null;
  const index = cells(lines[header]).indexOf(column);
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    if (cells(line)[0].startsWith(row)) return cells(line)[index] ?? null;
  }
  return null;
}

Deno.test({
  name: "bench.ts --smoke exits 0 and reports a positive req/s for ours" +
    (SKIP_REASON === null ? "" : ` (ignored: ${SKIP_REASON})`),
  ignore: SKIP_REASON !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "portico_bench_test_" });
    try {
      const result = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", BENCH, "--smoke", "--out", `${dir}/smoke.md`],
        env: { NO_COLOR: "1" },
        stdin: "null",
        signal: AbortSignal.timeout(120_000),
      }).output();
      const output = new TextDecoder().decode(result.stdout) +
        new TextDecoder().decode(result.stderr);
      assertEquals(result.code, 0, output);
      const report = await Deno.readTextFile(`${dir}/smoke.md`);
      const cell = tableCell(report, "ours", "12 B (req/s)");
      assert(cell !== null, `no "ours" row with a "12 B (req/s)" cell in:\n${report}`);
      assert(Number(cell.replaceAll(",", "")) > 0, `ours' 12 B cell is "${cell}"\n${report}`);
      const raw = JSON.parse(await Deno.readTextFile(`${dir}/smoke.json`));
      assertEquals(raw.servers, ["ours", "deno"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
