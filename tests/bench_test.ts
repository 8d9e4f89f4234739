/**
 * The benchmark harness, end to end: `bench/bench.ts --smoke` run as a
 * subprocess must exit 0 and write a report whose table has a positive
 * requests-per-second number for ours. It needs wrk; without it the test is
 * ignored, and its name says why.
 */

import { assert, assertEquals } from "./_deps.ts";
import { which } from "../bench/_machine.ts";

const BENCH = decodeURIComponent(new URL("../bench/bench.ts", import.meta.url).pathname);

/** The smoke run takes a few seconds; past this it is killed. */
const RUN_LIMIT_MS = 120_000;

/** Why the smoke run cannot be tested here, or null. Checked before the test is registered. */
const SKIP_REASON = which("wrk") === null
  ? "wrk is not installed (apt-get install wrk), and --smoke does not install it"
  : null;

/**
 * A cell of the first Markdown table that has a column titled `column`:
 * the cell in that column for the row whose first cell starts with `row`.
 */
function tableCell(markdown: string, row: string, column: string): string | null {
  const cells = (line: string) =>
    line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith("|")) continue;
    const index = cells(lines[i]).indexOf(column);
    if (index === -1) continue;
    for (let j = i + 2; j < lines.length && lines[j].startsWith("|"); j++) {
      const values = cells(lines[j]);
      if (values[0].startsWith(row)) return values[index] ?? null;
    }
    return null;
  }
  return null;
}

Deno.test({
  name: "bench.ts --smoke exits 0 and reports a positive req/s for ours" +
    (SKIP_REASON === null ? "" : ` (ignored: ${SKIP_REASON})`),
  ignore: SKIP_REASON !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "portico_bench_test_" });
    const out = `${dir}/smoke.md`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", BENCH, "--smoke", "--out", out],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_LIMIT_MS);
    try {
      const result = await child.output();
      const stdout = new TextDecoder().decode(result.stdout);
      const stderr = new TextDecoder().decode(result.stderr);
      assertEquals(result.code, 0, `exit ${result.code}\n${stdout}\n${stderr}`);
      const report = await Deno.readTextFile(out);
      const cell = tableCell(report, "ours", "12 B (req/s)");
      assert(cell !== null, `no "ours" row with a "12 B (req/s)" cell in:\n${report}`);
      const value = Number(cell.replaceAll(",", ""));
      assert(Number.isFinite(value) && value > 0, `ours' 12 B cell is "${cell}"\n${report}`);
      const raw = JSON.parse(await Deno.readTextFile(`${dir}/smoke.json`));
      assertEquals(raw.servers, ["ours", "deno"]);
    } finally {
      clearTimeout(timer);
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited.
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
