/**
 * The results of a run and their Markdown report: medians, number
 * formatting, the server × scenario table, the ours ÷ peer ratios, and the
 * notes on failures and errors. Everything here is pure.
 *
 * @module
 */

import type { MachineInfo } from "./_machine.ts";
import {
  HELD_CONNECTIONS,
  isLoadKey,
  LOAD_SCENARIOS,
  type LoadKey,
  type LoadScenario,
  type ScenarioKey,
  SERVER_LABELS,
  type ServerKey,
  STARTUP_SAMPLES,
} from "./_scenarios.ts";
import {
  gigabytesPerSecond,
  requestsPerSecond,
  totalErrors,
  type WrkErrors,
  type WrkSummary,
} from "./_wrk.ts";

/** One measured wrk run. */
export interface RunRecord {
  /** Which scenario. */
  readonly scenario: LoadKey;
  /** Which server. */
  readonly server: ServerKey;
  /** 1-based. */
  readonly round: number;
  /** wrk's totals, or null when the run failed. */
  readonly summary: WrkSummary | null;
  /** Why it failed, or null. */
  readonly error: string | null;
}

/** Resident memory of one server. */
export interface MemoryRecord {
  /** Which server. */
  readonly server: ServerKey;
  /** After start and one request, KiB; null when not measured. */
  readonly idleKiB: number | null;
  /** With the connections held open, KiB; null when not measured. */
  readonly loadedKiB: number | null;
  /** Processes added up (nginx: master and workers). */
  readonly processes: number;
  /** Connections the server kept open during the loaded reading. */
  readonly held: number;
  /** Connections that got a response. */
  readonly answered: number;
  /** Why the measurement failed or was partial, or null. */
  readonly error: string | null;
}

/** ours' start-up times. */
export interface StartupRecord {
  /** Milliseconds from spawn to the first 200, one per start. */
  readonly samplesMs: number[];
  /** Why a start failed, or null. */
  readonly error: string | null;
}

/** Everything a run measured, as written to the JSON file. */
export interface BenchResults {
  /** ISO 8601. */
  readonly date: string;
  /** The machine and tool versions. */
  readonly machine: MachineInfo;
  /** The command line, for the header. */
  readonly command: string;
  /** Measured rounds per scenario. */
  readonly rounds: number;
  /** Length of one measured run, milliseconds. */
  readonly durationMs: number;
  /** Length of the warm-up run, milliseconds (0: none). */
  readonly warmupMs: number;
  /** Selected scenarios and measurements, in table order. */
  readonly scenarios: readonly ScenarioKey[];
  /** Servers compared (those that could run), in table order. */
  readonly servers: readonly ServerKey[];
  /** Servers that were asked for but could not run, with the reason. */
  readonly skipped: ReadonlyArray<{ readonly server: ServerKey; readonly reason: string }>;
  /** Every measured wrk run. */
  readonly runs: readonly RunRecord[];
  /** Memory readings, one per server. */
  readonly memory: readonly MemoryRecord[];
  /** ours' start-up times, or null when not measured. */
  readonly startup: StartupRecord | null;
  /** Free-form remarks made during the run. */
  readonly notes: readonly string[];
}

/**
 * The median of some numbers (the mean of the middle two for an even count).
 *
 * @returns The median, or null for no numbers.
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * median([4, 1, 3, 2]); // 2.5
 * median([]); // null
 * ```
 */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * An integer with thousands separators.
 *
 * @example
 * ```ts
 * groupThousands(1234567.4); // "1,234,567"
 * ```
 */
export function groupThousands(value: number): string {
  return Math.round(value).toString().replace(/\B(?=([0-9]{3})+(?![0-9]))/g, ",");
}

/**
 * A number with about three significant figures, without exponent notation.
 *
 * @example
 * ```ts
 * significant(1.23456); // "1.23"
 * significant(0.04567); // "0.0457"
 * significant(123.4); // "123"
 * ```
 */
export function significant(value: number): string {
  if (value === 0) return "0";
  if (Math.abs(value) >= 100) return groupThousands(value);
  const decimals = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return value.toFixed(Math.min(decimals, 6));
}

/**
 * A Markdown table with padded columns; `|` inside cells is escaped.
 *
 * @param header Column titles.
 * @param rows Cells, one array per row.
 * @param right Whether each column is right-aligned (numbers).
 * @returns The table, without a trailing newline.
 *
 * @example
 * ```ts
 * markdownTable(["a", "b"], [["x", "1"]], [false, true]);
 * // "| a   |   b |\n| --- | --: |\n| x   |   1 |"
 * ```
 */
export function markdownTable(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  right: readonly boolean[],
): string {
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  const all = [header, ...rows].map((row) => row.map(escape));
  const widths = header.map((_, i) => Math.max(3, ...all.map((row) => (row[i] ?? "").length)));
  const pad = (cell: string, i: number) =>
    right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
  const line = (row: readonly string[]) =>
    `| ${widths.map((_, i) => pad(row[i] ?? "", i)).join(" | ")} |`;
  const rule = `| ${
    widths.map((w, i) => right[i] ? `${"-".repeat(w - 1)}:` : "-".repeat(w)).join(" | ")
  } |`;
  return [line(all[0]), rule, ...all.slice(1).map(line)].join("\n");
}

/** The headline number of a run in its scenario's unit. */
function metricOf(scenario: LoadScenario, summary: WrkSummary): number {
  return scenario.metric === "rps" ? requestsPerSecond(summary) : gigabytesPerSecond(summary);
}

function unitOf(scenario: LoadScenario): string {
  return scenario.metric === "rps" ? "req/s" : "GB/s";
}

function formatMetric(scenario: LoadScenario, value: number): string {
  return scenario.metric === "rps" ? groupThousands(value) : significant(value);
}

/** Medians of one server in one scenario, over its successful rounds. */
export interface ScenarioMedians {
  /** Headline number, or null when no round succeeded. */
  readonly value: number | null;
  /** 99th-percentile latency, milliseconds. */
  readonly p99Ms: number | null;
  /** Errors per round, every kind added up. */
  readonly errors: number | null;
  /** Rounds that succeeded, and all rounds. */
  readonly succeeded: number;
  /** Rounds run (failed ones included). */
  readonly rounds: number;
}

/**
 * Medians over the rounds of one server in one scenario.
 *
 * @param runs Every run of the benchmark.
 * @param scenario Which scenario.
 * @param server Which server.
 * @returns The medians.
 */
export function scenarioMedians(
  runs: readonly RunRecord[],
  scenario: LoadKey,
  server: ServerKey,
): ScenarioMedians {
  const mine = runs.filter((run) => run.scenario === scenario && run.server === server);
  const summaries = mine.flatMap((run) => run.summary === null ? [] : [run.summary]);
  const definition = LOAD_SCENARIOS[scenario];
  return {
    value: median(summaries.map((summary) => metricOf(definition, summary))),
    p99Ms: median(summaries.map((summary) => summary.latencyP99Us / 1000)),
    errors: median(summaries.map((summary) => totalErrors(summary.errors))),
    succeeded: summaries.length,
    rounds: mine.length,
  };
}

/** A column of the main table: a title and how to fill one server's cell. */
interface Column {
  readonly title: string;
  readonly cell: (server: ServerKey) => string;
}

const MIB_PER_KIB = 1 / 1024;

function loadColumns(results: BenchResults, key: LoadKey): Column[] {
  const scenario: LoadScenario = LOAD_SCENARIOS[key];
  const cellFor = (server: ServerKey, fill: (m: ScenarioMedians) => string) => {
    if (!scenario.servers.includes(server)) return "—";
    const medians = scenarioMedians(results.runs, key, server);
    if (medians.rounds === 0) return "—";
    return medians.value === null ? "failed" : fill(medians);
  };
  const headline: Column = scenario.p99
    ? {
      title: `${scenario.label} (${unitOf(scenario)} / p99 ms)`,
      cell: (server) =>
        cellFor(
          server,
          (m) => `${formatMetric(scenario, m.value ?? 0)} / ${significant(m.p99Ms ?? 0)}`,
        ),
    }
    : {
      title: `${scenario.label} (${unitOf(scenario)})`,
      cell: (server) => cellFor(server, (m) => formatMetric(scenario, m.value ?? 0)),
    };
  if (!scenario.p99) return [headline];
  return [headline, {
    title: `${scenario.label} errors`,
    cell: (server) => cellFor(server, (m) => groupThousands(m.errors ?? 0)),
  }];
}

function memoryCell(results: BenchResults, server: ServerKey, loaded: boolean): string {
  const record = results.memory.find((entry) => entry.server === server);
  if (record === undefined) return "—";
  const kib = loaded ? record.loadedKiB : record.idleKiB;
  if (kib === null) return loaded && record.answered > 0 && record.held === 0 ? "n/a" : "failed";
  const held = loaded && record.held < HELD_CONNECTIONS
    ? ` (${groupThousands(record.held)} held)`
    : "";
  return `${significant(kib * MIB_PER_KIB)}${held}`;
}

function columns(results: BenchResults): Column[] {
  const out: Column[] = [];
  for (const key of results.scenarios) {
    if (isLoadKey(key)) out.push(...loadColumns(results, key));
  }
  if (results.scenarios.includes("rss")) {
    out.push(
      { title: "RSS idle (MiB)", cell: (server) => memoryCell(results, server, false) },
      {
        title: `RSS ${groupThousands(HELD_CONNECTIONS)} conn (MiB)`,
        cell: (server) => memoryCell(results, server, true),
      },
    );
  }
  if (results.scenarios.includes("startup") && results.startup !== null) {
    const startup = results.startup;
    out.push({
      title: "Start-up (ms)",
      cell: (server) => {
        if (server !== "ours") return "—";
        const value = median(startup.samplesMs);
        return value === null ? "failed" : significant(value);
      },
    });
  }
  return out;
}

/**
 * The main table: one row per server, one column per scenario and measurement.
 *
 * @param results The run's results.
 * @returns A Markdown table.
 */
export function resultsTable(results: BenchResults): string {
  const cols = columns(results);
  const rows = results.servers.map((server) => [
    SERVER_LABELS[server],
    ...cols.map((col) => col.cell(server)),
  ]);
  return markdownTable(
    ["Server", ...cols.map((col) => col.title)],
    rows,
    [false, ...cols.map(() => true)],
  );
}

/** A column of the ratio table: ours' number and a peer's, same unit. */
interface RatioColumn {
  readonly title: string;
  readonly value: (server: ServerKey) => number | null;
}

function ratioColumns(results: BenchResults): RatioColumn[] {
  const out: RatioColumn[] = [];
  for (const key of results.scenarios) {
    if (!isLoadKey(key)) continue;
    const scenario: LoadScenario = LOAD_SCENARIOS[key];
    const medians = (server: ServerKey) =>
      scenario.servers.includes(server) ? scenarioMedians(results.runs, key, server) : null;
    out.push({
      title: scenario.p99 ? `${scenario.label} req/s` : scenario.label,
      value: (server) => medians(server)?.value ?? null,
    });
    if (scenario.p99) {
      out.push({
        title: `${scenario.label} p99 (lower is better)`,
        value: (server) => medians(server)?.p99Ms ?? null,
      });
    }
  }
  if (results.scenarios.includes("rss")) {
    const rss = (server: ServerKey, loaded: boolean) => {
      const record = results.memory.find((entry) => entry.server === server);
      return (loaded ? record?.loadedKiB : record?.idleKiB) ?? null;
    };
    out.push(
      { title: "RSS idle (lower is better)", value: (server) => rss(server, false) },
      {
        title: `RSS ${groupThousands(HELD_CONNECTIONS)} conn (lower is better)`,
        value: (server) => rss(server, true),
      },
    );
  }
  return out;
}

/**
 * ours ÷ peer, formatted, or "—" when either number is missing or zero.
 *
 * @example
 * ```ts
 * ratio(30, 20); // "1.50×"
 * ratio(null, 20); // "—"
 * ```
 */
export function ratio(ours: number | null, peer: number | null): string {
  if (ours === null || peer === null || peer === 0) return "—";
  return `${(ours / peer).toFixed(2)}×`;
}

/**
 * The ratio table: one row per peer, ours ÷ that peer per scenario.
 *
 * @param results The run's results.
 * @returns A Markdown table, or null when ours was not run or has no peer.
 */
export function ratioTable(results: BenchResults): string | null {
  const peers = results.servers.filter((server) => server !== "ours");
  if (!results.servers.includes("ours") || peers.length === 0) return null;
  const cols = ratioColumns(results);
  if (cols.length === 0) return null;
  const rows = peers.map((peer) => [
    `ours ÷ ${SERVER_LABELS[peer]}`,
    ...cols.map((col) => ratio(col.value("ours"), col.value(peer))),
  ]);
  return markdownTable(
    ["Ratio", ...cols.map((col) => col.title)],
    rows,
    [false, ...cols.map(() => true)],
  );
}

function describeErrors(errors: WrkErrors): string {
  return (Object.keys(errors) as Array<keyof WrkErrors>)
    .filter((kind) => errors[kind] > 0)
    .map((kind) => `${kind} ${groupThousands(errors[kind])}`)
    .join(", ");
}

function addErrors(a: WrkErrors, b: WrkErrors): WrkErrors {
  return {
    connect: a.connect + b.connect,
    read: a.read + b.read,
    write: a.write + b.write,
    status: a.status + b.status,
    timeout: a.timeout + b.timeout,
  };
}

const NO_ERRORS: WrkErrors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };

/**
 * One line per server and scenario that had failed rounds or wrk errors,
 * per server whose memory reading was partial, and per skipped server.
 *
 * @param results The run's results.
 * @returns The notes, in table order.
 */
export function notes(results: BenchResults): string[] {
  const out = results.skipped.map(({ server, reason }) =>
    `${SERVER_LABELS[server]}: not run (${reason}).`
  );
  for (const key of results.scenarios) {
    if (!isLoadKey(key)) continue;
    const label = LOAD_SCENARIOS[key].label;
    for (const server of results.servers) {
      const mine = results.runs.filter((run) => run.scenario === key && run.server === server);
      const failed = mine.filter((run) => run.error !== null);
      if (failed.length > 0) {
        out.push(
          `${SERVER_LABELS[server]}, ${label}: ${failed.length} of ${mine.length} rounds ` +
            `failed: ${failed[0].error}.`,
        );
      }
      const errors = mine.reduce(
        (sum, run) => run.summary === null ? sum : addErrors(sum, run.summary.errors),
        NO_ERRORS,
      );
      if (totalErrors(errors) > 0) {
        out.push(
          `${SERVER_LABELS[server]}, ${label}: wrk errors over ${mine.length - failed.length} ` +
            `rounds: ${describeErrors(errors)}.`,
        );
      }
    }
  }
  for (const record of results.memory) {
    if (record.error !== null) {
      out.push(`${SERVER_LABELS[record.server]}, memory: ${record.error}.`);
    }
  }
  if (results.startup?.error) out.push(`ours, start-up: ${results.startup.error}.`);
  return [...out, ...results.notes];
}

/** One line per selected scenario saying what it runs. */
function legend(results: BenchResults): string[] {
  const lines: string[] = [];
  for (const key of results.scenarios) {
    if (isLoadKey(key)) {
      const s: LoadScenario = LOAD_SCENARIOS[key];
      const header = s.header === "close"
        ? " with `Connection: close`"
        : s.header === "etag"
        ? " with `If-None-Match: <the server's ETag>` (answered 304)"
        : "";
      const who = s.servers.length < 4
        ? ` (only ${s.servers.join(" and ")}, each with ${s.workers} workers)`
        : "";
      lines.push(
        `- ${s.label}: \`wrk -t${s.threads} -c${s.connections}\` GET ${s.path}${header}${who}; ` +
          (s.metric === "rps" ? "requests/s" : "GB/s (10⁹ bytes read per second)") +
          (s.p99 ? ", p99 latency and errors per round" : "") + ".",
      );
    } else if (key === "rss") {
      lines.push(
        "- RSS: VmRSS of the server (nginx: master plus workers; a Deno process's workers are " +
          `threads) idle after start, and with ${
            groupThousands(HELD_CONNECTIONS)
          } keep-alive connections ` +
          "open, each having had one GET /12b answered.",
      );
    } else {
      lines.push(
        `- Start-up: ours only, from spawn to the first 200, median of ${STARTUP_SAMPLES} starts.`,
      );
    }
  }
  return lines;
}

/**
 * The whole report: header lines, the table, the ratios, the legend and notes.
 *
 * @param results The run's results.
 * @returns Markdown, ending in a newline.
 */
export function formatReport(results: BenchResults): string {
  const m = results.machine;
  const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;
  const warmup = results.warmupMs > 0
    ? `after a ${seconds(results.warmupMs)} warm-up`
    : "without warm-up";
  const ratios = ratioTable(results);
  const remarks = notes(results);
  const prose = (lines: readonly string[]) => lines.map((line) => wrapProse(line, PROSE_WIDTH));
  return [
    "# portico benchmark",
    "",
    ...prose([
      `- Date: ${results.date}`,
      `- Machine: ${m.cpu}, ${m.cores} cores, ${significant(m.memoryGiB)} GiB memory, ${m.kernel}`,
      `- Versions: Deno ${m.deno}, nginx ${m.nginx}, wrk ${m.wrk}, Python ${m.python}`,
      `- Command: \`${results.command}\``,
      `- Runs: ${results.rounds} round${results.rounds === 1 ? "" : "s"} of ` +
      `${seconds(results.durationMs)} per server and scenario ${warmup}, servers alternated ` +
      "between rounds, median reported. Load generator and servers share this machine's CPUs, " +
      "all traffic on 127.0.0.1.",
    ]),
    "",
    resultsTable(results),
    "",
    ...(ratios === null ? [] : [
      ...prose([
        "Ours ÷ peer: above 1 means ours is ahead, except in columns marked lower is better.",
      ]),
      "",
      ratios,
      "",
    ]),
    "## Scenarios",
    "",
    ...prose(legend(results)),
    "",
    ...(remarks.length === 0 ? [] : ["## Notes", "", ...prose(remarks.map((n) => `- ${n}`)), ""]),
  ].join("\n");
}

/** The repository's `deno fmt` line width, so a report written into it is already formatted. */
const PROSE_WIDTH = 100;

/**
 * Wraps one paragraph or list item of Markdown at `width` the way `deno fmt`
 * does: between words, never inside a code span, list items continued with
 * two spaces.
 *
 * @param line The paragraph or `- ` item, on one line.
 * @param width The line width.
 * @returns The wrapped text (lines joined with newlines).
 *
 * @example
 * ```ts
 * wrapProse("- one two three", 9); // "- one two\n  three"
 * ```
 */
export function wrapProse(line: string, width: number): string {
  const item = line.startsWith("- ");
  const first = item ? "- " : "";
  const rest = item ? "  " : "";
  const words = (item ? line.slice(2) : line).match(/(?:`[^`]*`|[^ `]|`)+/g) ?? [];
  const lines: string[] = [];
  let current = first;
  for (const word of words) {
    const prefix = lines.length === 0 ? first : rest;
    if (current !== prefix && current.length + 1 + word.length > width) {
      lines.push(current);
      current = rest + word;
    } else {
      current += current === prefix ? word : ` ${word}`;
    }
  }
  lines.push(current);
  return lines.join("\n");
}
