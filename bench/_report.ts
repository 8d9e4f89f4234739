/**
 * A run's results and their Markdown report: medians, the server × scenario
 * table, the ratios of each portico against each peer, the fairness table,
 * portico with site rules against itself without, HTTPS against nginx with
 * its goal, the scenarios and the notes. Pure; `deno fmt` pads the tables afterwards.
 *
 * @module
 */

import { type FairnessErrors, fairnessErrors, type FairnessSummary } from "./_fairness.ts";
import {
  FAIRNESS_SCENARIOS,
  type FairnessKey,
  HASH_SAMPLES,
  HELD_CONNECTIONS,
  HTTPS_GOAL,
  isFairnessKey,
  isLoadKey,
  LOAD_SCENARIOS,
  type LoadKey,
  PORTICO,
  RULES_GOAL,
  type ScenarioKey,
  SERVER_KEYS,
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
  readonly scenario: LoadKey;
  readonly server: ServerKey;
  /** 1-based. */
  readonly round: number;
  /** wrk's totals, or null when the run failed. */
  readonly summary: WrkSummary | null;
  /** CPU time of the server's process tree over the run, ms; null when not read. */
  readonly cpuMs: number | null;
  /**
   * Largest resident memory of the server's process tree read during the run
   * (every 250 ms), KiB; null or absent when not read.
   */
  readonly peakRssKiB?: number | null;
  /** Why it failed, or null. */
  readonly error: string | null;
}

/** One run of the fairness generator against one server. */
export interface FairnessRecord {
  readonly scenario: FairnessKey;
  readonly server: ServerKey;
  /** Connections asked for (fewer than the scenario's with `--smoke`). */
  readonly connections: number;
  /** The measured window asked for, seconds. */
  readonly durationS: number;
  /** The warm-up before it, seconds. */
  readonly warmupS: number;
  /** What the generator printed, or null when the run failed. */
  readonly summary: FairnessSummary | null;
  /** Why it failed, or null. */
  readonly error: string | null;
}

/** The content coding a server answered a compressed scenario's request with, before its runs. */
export interface EncodingRecord {
  readonly scenario: LoadKey;
  readonly server: ServerKey;
  /** `Content-Encoding`, or "identity" when there was none. */
  readonly coding: string;
}

/** One timing of the hashing measurements. */
export interface HashTiming {
  /** What was timed, as the report's row says it. */
  readonly name: string;
  /** Bytes it hashed, for MB/s; null when throughput means nothing (a response's head). */
  readonly bytes: number | null;
  /** Milliseconds, one per sample. */
  readonly samplesMs: number[];
}

/** Content hashing: portico's own code timed in the benchmark's process, no wrk. */
export interface HashRecord {
  readonly timings: readonly HashTiming[];
  /** Why it stopped early, or null. */
  readonly error: string | null;
}

/** Resident memory of one server, KiB; null when not measured. */
export interface MemoryRecord {
  readonly server: ServerKey;
  /** After start and one request. */
  readonly idleKiB: number | null;
  /** With the connections held open; null without an error: the server keeps none alive. */
  readonly loadedKiB: number | null;
  /** Connections held open for the loaded reading. */
  readonly held: number;
  /** Why the reading failed or was partial, or null. */
  readonly error: string | null;
}

/** Start-up times of one portico server. */
export interface StartupRecord {
  readonly server: ServerKey;
  /** Milliseconds from spawn to the first 200, one per start. */
  readonly samplesMs: number[];
  /** Why a start failed, or null. */
  readonly error: string | null;
}

/** The machine and tool versions, for the header. */
export interface MachineInfo {
  /** CPU model, logical CPUs, memory and kernel, on one line. */
  readonly hardware: string;
  /** Deno, nginx, wrk and Python versions, on one line. */
  readonly versions: string;
}

/** Everything a run measured, as written to the JSON file. */
export interface BenchResults {
  /** ISO 8601. */
  readonly date: string;
  readonly machine: MachineInfo;
  /** The command line. */
  readonly command: string;
  readonly rounds: number;
  readonly durationS: number;
  readonly warmupS: number;
  /** Selected scenarios, in table order. */
  readonly scenarios: readonly ScenarioKey[];
  /** Servers compared (those that could run), in table order. */
  readonly servers: readonly ServerKey[];
  /** The revision "base" ran from, as given and as a commit; null without `--base`. */
  readonly base: { readonly rev: string; readonly commit: string } | null;
  /** Where servers and wrk ran: the CPUs they were pinned to, or why they were not. */
  readonly pinning: string;
  /** Servers asked for that could not run, with the reason. */
  readonly skipped: ReadonlyArray<{ readonly server: ServerKey; readonly reason: string }>;
  readonly runs: readonly RunRecord[];
  /** The fairness scenarios' runs, one per server and scenario. */
  readonly fairness: readonly FairnessRecord[];
  readonly memory: readonly MemoryRecord[];
  readonly startup: readonly StartupRecord[];
  /** The coding of each server in each compressed scenario. */
  readonly encodings: readonly EncodingRecord[];
  /** Content hashing; null when not selected. */
  readonly hashing: HashRecord | null;
  /** Remarks made during the run. */
  readonly notes: readonly string[];
}

/**
 * The median (the mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
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
 * About three significant figures, without exponent notation.
 *
 * @example
 * ```ts
 * significant(1.23456); // "1.23"
 * significant(123.4); // "123"
 * ```
 */
export function significant(value: number): string {
  if (value === 0 || Math.abs(value) >= 100) return groupThousands(value);
  return value.toFixed(Math.min(6, 2 - Math.floor(Math.log10(Math.abs(value)))));
}

/**
 * A server's name in the report; base carries its commit.
 *
 * @example
 * ```ts
 * serverLabel("base", { rev: "main", commit: "f44540f" }); // "base (portico f44540f)"
 * ```
 */
export function serverLabel(server: ServerKey, base: BenchResults["base"]): string {
  return server === "base" && base !== null
    ? `base (portico ${base.commit})`
    : SERVER_LABELS[server];
}

/** The medians of one server in one scenario, over its successful rounds. */
interface Medians {
  readonly value: number | null;
  readonly p99Ms: number | null;
  readonly errors: number | null;
  /** Bytes read per response, heads included. */
  readonly bytesPerResponse: number | null;
  /** The server's CPU time per response, µs. */
  readonly cpuUsPerResponse: number | null;
  /** The server's peak resident memory during a run, KiB. */
  readonly peakRssKiB: number | null;
}

/**
 * Medians of one server in one scenario; null when it ran no round there.
 *
 * @param runs Every run of the benchmark.
 * @param key The scenario.
 * @param server The server.
 * @returns Headline number, p99 in ms, errors, bytes and CPU µs per response, per round (each
 *   null when no round succeeded).
 */
export function medians(
  runs: readonly RunRecord[],
  key: LoadKey,
  server: ServerKey,
): Medians | null {
  const mine = runs.filter((run) => run.scenario === key && run.server === server);
  if (mine.length === 0) return null;
  const ok = mine.flatMap((run) => run.summary ?? []);
  const per = (get: (summary: WrkSummary) => number) => median(ok.map(get));
  const cpu = mine.flatMap(({ summary, cpuMs }) =>
    summary === null || cpuMs === null ? [] : [cpuMs * 1000 / summary.requests]
  );
  return {
    value: per(LOAD_SCENARIOS[key].metric === "rps" ? requestsPerSecond : gigabytesPerSecond),
    p99Ms: per((summary) => summary.p99Us / 1000),
    errors: per((summary) => totalErrors(summary.errors)),
    bytesPerResponse: per((summary) => summary.bytes / summary.requests),
    cpuUsPerResponse: median(cpu),
    peakRssKiB: median(mine.flatMap((run) => run.summary === null ? [] : run.peakRssKiB ?? [])),
  };
}

/** One column of a table: its title, and each server's cell. */
interface Column<T> {
  readonly title: string;
  readonly cell: (server: ServerKey) => T;
}

function memoryOf(results: BenchResults, server: ServerKey) {
  return results.memory.find((record) => record.server === server);
}

/** The main table's columns: one per scenario (two for 1,000 conn), memory, start-up. */
function mainColumns(results: BenchResults): Column<string>[] {
  const columns: Column<string>[] = [];
  for (const key of results.scenarios.filter(isLoadKey)) {
    const { label, metric, p99 } = LOAD_SCENARIOS[key];
    const unit = metric === "rps" ? "req/s" : "GB/s";
    const show = (server: ServerKey, text: (m: Medians & { value: number }) => string) => {
      const m = medians(results.runs, key, server);
      return m === null ? "—" : m.value === null ? "failed" : text({ ...m, value: m.value });
    };
    const number = (value: number) => metric === "rps" ? groupThousands(value) : significant(value);
    columns.push({
      title: p99 ? `${label} (${unit} / p99 ms)` : `${label} (${unit})`,
      cell: (server) =>
        show(
          server,
          (m) => p99 ? `${number(m.value)} / ${significant(m.p99Ms ?? 0)}` : number(m.value),
        ),
    });
    if (p99) {
      columns.push({
        title: `${label} errors`,
        cell: (server) => show(server, (m) => groupThousands(m.errors ?? 0)),
      });
    }
    if (LOAD_SCENARIOS[key].peakRss) {
      columns.push({
        title: `${label} peak RSS (MiB)`,
        cell: (server) =>
          show(server, (m) => m.peakRssKiB === null ? "n/a" : significant(m.peakRssKiB / 1024)),
      });
    }
  }
  if (results.scenarios.includes("rss")) {
    const rss = (server: ServerKey, loaded: boolean) => {
      const record = memoryOf(results, server);
      if (record === undefined) return "—";
      const kib = loaded ? record.loadedKiB : record.idleKiB;
      if (kib === null) return loaded && record.error === null ? "n/a" : "failed";
      const partial = loaded && record.held < HELD_CONNECTIONS ? ` (${record.held} held)` : "";
      return `${significant(kib / 1024)}${partial}`;
    };
    columns.push(
      { title: "RSS idle (MiB)", cell: (server) => rss(server, false) },
      {
        title: `RSS ${groupThousands(HELD_CONNECTIONS)} conn (MiB)`,
        cell: (server) => rss(server, true),
      },
    );
  }
  if (results.scenarios.includes("startup")) {
    columns.push({
      title: "Start-up (ms)",
      cell: (server) => {
        const record = results.startup.find((entry) => entry.server === server);
        const ms = record === undefined ? undefined : median(record.samplesMs);
        return ms === undefined ? "—" : ms === null ? "failed" : significant(ms);
      },
    });
  }
  return columns;
}

/**
 * The ratio table's columns: the numbers behind the main table's, in the
 * same units; none for a scenario that compares fewer than two of the servers.
 */
function ratioColumns(results: BenchResults): Column<number | null>[] {
  const columns: Column<number | null>[] = [];
  const compared = (key: LoadKey) =>
    LOAD_SCENARIOS[key].servers.filter((server) => results.servers.includes(server)).length > 1;
  for (const key of results.scenarios.filter(isLoadKey).filter(compared)) {
    const { label, p99 } = LOAD_SCENARIOS[key];
    const of = (server: ServerKey) => medians(results.runs, key, server);
    columns.push({
      title: p99 ? `${label} req/s` : label,
      cell: (server) => of(server)?.value ?? null,
    });
    if (p99) {
      columns.push({
        title: `${label} p99 (lower is better)`,
        cell: (server) => of(server)?.p99Ms ?? null,
      });
    }
  }
  if (results.scenarios.includes("rss")) {
    columns.push(
      {
        title: "RSS idle (lower is better)",
        cell: (server) => memoryOf(results, server)?.idleKiB ?? null,
      },
      {
        title: `RSS ${groupThousands(HELD_CONNECTIONS)} conn (lower is better)`,
        cell: (server) => memoryOf(results, server)?.loadedKiB ?? null,
      },
    );
  }
  return columns;
}

/**
 * a ÷ b, formatted, or "—" when either is missing or b is zero.
 *
 * @example
 * ```ts
 * ratio(30, 20); // "1.50×"
 * ratio(null, 20); // "—"
 * ```
 */
export function ratio(a: number | null, b: number | null): string {
  return a === null || b === null || b === 0 ? "—" : `${(a / b).toFixed(2)}×`;
}

/**
 * The pairs of the ratio table: each portico server against each peer,
 * grouped by peer, then ours against base.
 *
 * @param servers The servers compared.
 * @returns [numerator, denominator] pairs.
 *
 * @example
 * ```ts
 * ratioPairs(["ours", "base", "nginx"]); // [["ours", "nginx"], ["base", "nginx"], ["ours", "base"]]
 * ```
 */
export function ratioPairs(servers: readonly ServerKey[]): Array<[ServerKey, ServerKey]> {
  const mine = servers.filter((server) => PORTICO.includes(server));
  const peers = servers.filter((server) => !PORTICO.includes(server));
  const pairs = peers.flatMap((peer) => mine.map((own): [ServerKey, ServerKey] => [own, peer]));
  return mine.length === 2 ? [...pairs, ["ours", "base"]] : pairs;
}

/** A Markdown table; the first column left-aligned, the others right-aligned. */
function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  const rule = `| --- | ${header.slice(1).map(() => "--:").join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

function errorKinds(errors: WrkErrors | FairnessErrors): string {
  const kinds = Object.entries(errors).filter(([, n]) => n > 0);
  return kinds.map(([kind, n]) => `${kind} ${groupThousands(n)}`).join(", ");
}

/**
 * One line per skipped server, per server and scenario with failed rounds or
 * wrk errors, per partial memory reading and failed start-up, then the run's remarks.
 *
 * @param results The run's results.
 * @returns The notes, in table order.
 */
export function notes(results: BenchResults): string[] {
  const name = (server: ServerKey) => serverLabel(server, results.base);
  const out = results.skipped.map(({ server, reason }) => `${name(server)}: not run (${reason}).`);
  for (const key of results.scenarios.filter(isLoadKey)) {
    for (const server of results.servers) {
      const mine = results.runs.filter((run) => run.scenario === key && run.server === server);
      const failed = mine.filter((run) => run.error !== null);
      const where = `${name(server)}, ${LOAD_SCENARIOS[key].label}`;
      if (failed.length > 0) {
        const why = failed[0].error?.replace(/\.$/, "");
        out.push(`${where}: ${failed.length} of ${mine.length} rounds failed: ${why}.`);
      }
      const sum = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
      for (const run of mine) {
        for (const kind of Object.keys(sum) as Array<keyof WrkErrors>) {
          sum[kind] += run.summary?.errors[kind] ?? 0;
        }
      }
      if (totalErrors(sum) > 0) {
        out.push(`${where}: wrk errors over all rounds: ${errorKinds(sum)}.`);
      }
    }
  }
  for (const { scenario, server, summary, error } of results.fairness) {
    const where = `${name(server)}, ${FAIRNESS_SCENARIOS[scenario].label} fairness`;
    if (error !== null) out.push(`${where}: failed: ${error.replace(/\.$/, "")}.`);
    if (summary === null) continue;
    if (fairnessErrors(summary.errors) > 0) {
      out.push(`${where}: generator errors: ${errorKinds(summary.errors)}.`);
    }
    if (summary.clientCpu >= BUSY_GENERATOR) {
      out.push(
        `${where}: the generator used ${Math.round(summary.clientCpu * 100)} % of its CPU ` +
          "during the window: the rate may be its limit rather than the server's.",
      );
    }
  }
  for (const { server, error } of results.memory) {
    if (error !== null) out.push(`${name(server)}, memory: ${error}.`);
  }
  for (const { server, error } of results.startup) {
    if (error !== null) out.push(`${name(server)}, start-up: ${error}.`);
  }
  const hashError = results.hashing?.error ?? null;
  if (hashError !== null) out.push(`Hashing: ${hashError}.`);
  return [...out, ...results.notes];
}

/** The fairness generator's CPU share above which its rate is noted as perhaps its own limit. */
const BUSY_GENERATOR = 0.9;

/** A fairness scenario's legend line, in the form its runs had (smaller with `--smoke`). */
function fairnessLegend(results: BenchResults, key: FairnessKey): string {
  const s = FAIRNESS_SCENARIOS[key];
  const form = results.fairness.find((record) => record.scenario === key) ?? s;
  const only = s.servers.filter((server) => results.servers.includes(server)).join(", ");
  const files = s.openFiles === null
    ? ""
    : `, generator and servers started with \`ulimit -n ${s.openFiles}\` (or the hard limit)`;
  return `- ${s.label} fairness: \`node bench/fairness.mjs\` with ` +
    `${groupThousands(form.connections)} keep-alive connections, each sending GET ${s.path} ` +
    `one at a time (only ${only}), on wrk's CPU${files}; one round of ${form.durationS} s ` +
    (form.warmupS > 0 ? `after a ${form.warmupS} s warm-up` : "without warm-up") +
    "; requests/s, and the requests each connection completed.";
}

/** What a compressed scenario's legend adds. */
const COMPRESSED_EXTRAS = ", and per response the bytes read (head included) and the server's " +
  "CPU time (user plus system of its process tree over the run, from `/proc/PID/stat`, " +
  "÷ responses; the kernel counts it in 10 ms ticks)";

/**
 * What a scenario's legend says of site rules: those portico is started
 * with, that it has none when it is another's baseline, and the scenario a
 * run is compared with.
 */
function rulesLegend(results: BenchResults, key: LoadKey): string {
  const { rules, baseline } = LOAD_SCENARIOS[key];
  const lead = results.scenarios.filter(isLoadKey).some((other) =>
    LOAD_SCENARIOS[other].baseline === key
  );
  const compared = baseline !== null && results.scenarios.includes(baseline)
    ? `, measured in the same rounds as ${LOAD_SCENARIOS[baseline].label}, alternated`
    : "";
  if (rules === null) return lead ? ", portico without a configuration file" : "";
  const hit = rules.hitEveryPath
    ? ", and a header rule `/*` that sets a field on every response"
    : "";
  return `, portico started with \`--config\` of a generated file: ${rules.redirects} ` +
    `redirects (every other one forced) and ${rules.headerRules} header rules, all for other ` +
    `paths than ${LOAD_SCENARIOS[key].path}${hit}${compared}`;
}

/** One line per selected scenario saying what it runs. */
function legend(results: BenchResults): string[] {
  return results.scenarios.map((key) => {
    if (key === "rss") {
      return `- RSS: VmRSS of the server (nginx: master plus workers; a Deno process's workers are ` +
        `threads) idle after start, and with ${groupThousands(HELD_CONNECTIONS)} keep-alive ` +
        "connections open, each having had one GET /12b answered.";
    }
    if (key === "startup") {
      return `- Start-up: portico only, from spawn to the first 200, median of ${STARTUP_SAMPLES} ` +
        "starts after an untimed one.";
    }
    if (key === "hash") {
      return "- Hashing: portico's content tags (`lib/static/digest.ts`) of the working tree, " +
        "timed in the benchmark's own process, no wrk, the files in the page cache: " +
        "`contentTag()` of bytes in memory, `FileDigests` (`inlineBytes: 0`) reading a file " +
        "in 256 KiB chunks (`tagFor()` then `settled()`), and `serve()` with the default " +
        "`hashInlineBytes` (1 MiB): time to the response head of GETs, each on a new " +
        "connection closed once the head is read (the server first answers one GET /12b, so no " +
        "timing includes its warm-up), and until a HEAD (asked every 5 ms) carries the content " +
        "tag instead of the provisional one; a fresh server per sample, median of " +
        `${HASH_SAMPLES}. MB/s is 10⁶ bytes per second.`;
    }
    if (isFairnessKey(key)) return fairnessLegend(results, key);
    const s = LOAD_SCENARIOS[key];
    const header = s.header === "close"
      ? " with `Connection: close`"
      : s.header === "validator"
      ? " with `If-None-Match: <the server's ETag>` (answered 304)"
      : "";
    const only = s.servers.filter((server) => results.servers.includes(server)).join(", ");
    const who = s.workers > 1
      ? ` (only ${only}, each with ${s.workers} workers)`
      : s.servers.length < SERVER_KEYS.length
      ? ` (only ${only})`
      : "";
    const accept = s.acceptEncoding === null
      ? ""
      : ` with \`Accept-Encoding: ${s.acceptEncoding}\``;
    const setting = [
      ...(s.pinned ? [] : ["neither server nor wrk pinned to a CPU"]),
      ...(s.openFiles === null
        ? []
        : [`wrk and servers started with \`ulimit -n ${s.openFiles}\` (or the hard limit)`]),
    ].map((text) => `, ${text}`).join("");
    const https = s.tls ? " over HTTPS" : "";
    return `- ${s.label}: \`wrk -t${s.threads} -c${s.connections}\` GET ${s.path}${https}${header}` +
      `${accept}${who}${setting}${rulesLegend(results, key)}; ` +
      (s.metric === "rps" ? "requests/s" : "GB/s (10⁹ bytes read per second)") +
      (s.p99 ? ", p99 latency and errors per round" : "") +
      (s.peakRss ? ", and the server's peak RSS during the run (read every 250 ms)" : "") +
      (s.acceptEncoding === null ? "" : COMPRESSED_EXTRAS) + ".";
  });
}

/** Keys of the selected compressed scenarios, in table order. */
function compressedKeys(results: BenchResults): LoadKey[] {
  return results.scenarios.filter(isLoadKey).filter((key) =>
    LOAD_SCENARIOS[key].acceptEncoding !== null
  );
}

/**
 * The compressed scenarios' table: per server the coding it answered with,
 * bytes and CPU µs per response; then the ratios of each portico against
 * each peer. Empty when no compressed scenario was selected.
 */
function compressionTable(results: BenchResults): string[] {
  const keys = compressedKeys(results);
  const servers = results.servers.filter((server) =>
    keys.some((key) => LOAD_SCENARIOS[key].servers.includes(server))
  );
  if (keys.length === 0 || servers.length === 0) return [];
  const of = (key: LoadKey, server: ServerKey) => medians(results.runs, key, server);
  const coding = (key: LoadKey, server: ServerKey) =>
    results.encodings.find((e) => e.scenario === key && e.server === server)?.coding ?? "—";
  const number = (value: number | null | undefined) =>
    value === null || value === undefined ? "—" : significant(value);
  const header = [
    "Server",
    ...keys.flatMap((key) => {
      const { label } = LOAD_SCENARIOS[key];
      return [`${label} coding`, `${label} B/resp`, `${label} CPU µs/resp`];
    }),
  ];
  const rows = servers.map((server) => [
    serverLabel(server, results.base),
    ...keys.flatMap((key) => [
      coding(key, server),
      number(of(key, server)?.bytesPerResponse),
      number(of(key, server)?.cpuUsPerResponse),
    ]),
  ]);
  const pairs = ratioPairs(servers).map(([a, b]) => [
    `${a} ÷ ${PORTICO.includes(b) ? b : serverLabel(b, results.base)}`,
    ...keys.flatMap((key) => [
      "",
      ratio(of(key, a)?.bytesPerResponse ?? null, of(key, b)?.bytesPerResponse ?? null),
      ratio(of(key, a)?.cpuUsPerResponse ?? null, of(key, b)?.cpuUsPerResponse ?? null),
    ]),
  ]);
  return [
    "## Compressed responses",
    "",
    "Bytes read per response (head included) and the server's CPU time per response, medians " +
    "over the rounds; in the ratio rows lower is better.",
    "",
    table(header, [...rows, ...pairs]),
    "",
  ];
}

/**
 * Every wrk scenario's server CPU time per response, per server, then the
 * ratios of each portico against each peer. Empty when no scenario has a reading.
 */
function cpuTable(results: BenchResults): string[] {
  const of = (key: LoadKey, server: ServerKey) =>
    medians(results.runs, key, server)?.cpuUsPerResponse ?? null;
  const keys = results.scenarios.filter(isLoadKey).filter((key) =>
    results.servers.some((server) => of(key, server) !== null)
  );
  if (keys.length === 0) return [];
  const number = (value: number | null) => value === null ? "—" : significant(value);
  const header = ["Server", ...keys.map((key) => `${LOAD_SCENARIOS[key].label} µs`)];
  const rows = results.servers.map((server) => [
    serverLabel(server, results.base),
    ...keys.map((key) => number(of(key, server))),
  ]);
  const pairs = ratioPairs(results.servers).map(([a, b]) => [
    `${a} ÷ ${PORTICO.includes(b) ? b : serverLabel(b, results.base)}`,
    ...keys.map((key) => ratio(of(key, a), of(key, b))),
  ]);
  return [
    "## Server CPU per request (µs)",
    "",
    "User plus system CPU time of the server's process tree over each measured run (from " +
    "`/proc/PID/stat`, in 10 ms ticks) ÷ its responses, median over the rounds; wrk's own " +
    "CPU is not counted. In the ratio rows lower is better.",
    "",
    table(header, [...rows, ...pairs]),
    "",
  ];
}

/** A count per connection: a whole number, or a median halfway between two. */
function perConnection(value: number): string {
  return Number.isInteger(value)
    ? groupThousands(value)
    : `${groupThousands(Math.floor(value))}${(value % 1).toFixed(1).slice(1)}`;
}

/** The fairness table: a row per fairness scenario and server. Empty when none ran. */
function fairnessTable(results: BenchResults): string[] {
  if (results.fairness.length === 0) return [];
  const header = [
    "Server",
    "Connections",
    "req/s",
    "Per connection min / median / max",
    "Spread (%)",
    "Starved",
    "Errors",
  ];
  const rows = results.fairness.map(({ server, connections, summary }) => {
    const cells = summary === null ? ["failed", "—", "—", "—", "—"] : [
      groupThousands(summary.requestsPerSecond),
      [summary.min, summary.median, summary.max].map(perConnection).join(" / "),
      summary.spread === null ? "n/a" : significant(summary.spread * 100),
      groupThousands(summary.starved),
      groupThousands(fairnessErrors(summary.errors)),
    ];
    return [serverLabel(server, results.base), groupThousands(connections), ...cells];
  });
  return [
    "## Fairness",
    "",
    "Requests completed by each keep-alive connection in the measured window, one GET at a " +
    "time on each, counted by `bench/fairness.mjs` (Node.js, on wrk's CPU). Spread: (p99 − p1) " +
    "÷ median of the counts: at 5, the counts of the middle 98 % of connections lie in a range " +
    "5 % of the median wide. A fair server keeps it to a few percent; it cannot fall below " +
    "100 ÷ median when counts differ by one request. Starved: connections that completed no " +
    "request. " +
    "Errors: failed connects, resets, closes, timeouts (10 s), error statuses and malformed " +
    "responses, over the whole run; each failed connection is replaced.",
    "",
    table(header, rows),
    "",
  ];
}

/** The selected scenarios compared with a selected baseline, in table order. */
function comparedKeys(results: BenchResults): LoadKey[] {
  return results.scenarios.filter(isLoadKey).filter((key) => {
    const baseline = LOAD_SCENARIOS[key].baseline;
    return baseline !== null && results.scenarios.includes(baseline);
  });
}

/**
 * Whether a ratio meets a goal, as the table says it.
 *
 * @example
 * ```ts
 * goalVerdict(0.95, 0.9); // "met (≥ 0.90×)"
 * goalVerdict(0.95, null); // "none"
 * ```
 */
export function goalVerdict(value: number | null, goal: number | null): string {
  if (goal === null) return "none";
  const bound = `(≥ ${goal.toFixed(2)}×)`;
  return value === null ? `— ${bound}` : `${value >= goal ? "met" : "missed"} ${bound}`;
}

/** The site rules table's columns. */
const RULES_HEADER = [
  "Scenario",
  "Server",
  "req/s",
  "CPU µs/req",
  "req/s ÷ baseline",
  "CPU ÷ baseline (lower is better)",
  "Goal for req/s ÷ baseline",
] as const;

/** One row of the site rules table: a server in a scenario, against its baseline if it has one. */
function rulesRow(results: BenchResults, key: LoadKey, server: ServerKey): string[] {
  const { label, baseline, goal } = LOAD_SCENARIOS[key];
  const own = medians(results.runs, key, server);
  const base = baseline === null ? null : medians(results.runs, baseline, server);
  const rate = own?.value ?? null;
  const cpu = own?.cpuUsPerResponse ?? null;
  const baseRate = base?.value ?? null;
  const share = rate === null || baseRate === null || baseRate === 0 ? null : rate / baseRate;
  const cells = baseline === null ? ["baseline", "baseline", "—"] : [
    ratio(rate, baseRate),
    ratio(cpu, base?.cpuUsPerResponse ?? null),
    goalVerdict(share, goal),
  ];
  return [
    label,
    serverLabel(server, results.base),
    rate === null ? (own === null ? "—" : "failed") : groupThousands(rate),
    cpu === null ? "—" : significant(cpu),
    ...cells,
  ];
}

/**
 * The site rules table: each scenario compared with a baseline (portico
 * with site rules against itself without) and that baseline, per server:
 * requests/s and CPU per request, the ratios to the baseline, and the goal.
 * Empty when no scenario was selected with its baseline.
 */
function rulesTable(results: BenchResults): string[] {
  const compared = comparedKeys(results);
  if (compared.length === 0) return [];
  const keys = results.scenarios.filter(isLoadKey).filter((key) =>
    compared.includes(key) || compared.some((other) => LOAD_SCENARIOS[other].baseline === key)
  );
  const rows = keys.flatMap((key) =>
    results.servers.filter((server) => LOAD_SCENARIOS[key].servers.includes(server))
      .map((server) => rulesRow(results, key, server))
  );
  const within = Math.round((1 - RULES_GOAL) * 100);
  return [
    "## Site rules",
    "",
    "Portico against itself: the same file served without a configuration file (the baseline) " +
    "and with generated site rules (see Scenarios), measured in the same rounds, alternated. " +
    `**Goal: with rules none of which matches the path, requests/s within ${within} % of the ` +
    `baseline (≥ ${RULES_GOAL.toFixed(2)}×).** A header rule that matches every path takes ` +
    "its responses off the prepared fast path, so that scenario is reported without a goal.",
    "",
    table(RULES_HEADER, rows),
    "",
  ];
}

/** The HTTPS table's columns. */
const HTTPS_HEADER = ["Scenario", "Server", "Figure", "nginx's figure", "÷ nginx", "Goal"] as const;

/** One row of the HTTPS table: a portico server in a scenario, against nginx. */
function httpsRow(results: BenchResults, key: LoadKey, server: ServerKey): string[] {
  const { label, metric } = LOAD_SCENARIOS[key];
  const figure = (of: ServerKey) => {
    const m = medians(results.runs, key, of);
    const value = m?.value ?? null;
    const text = value !== null
      ? (metric === "rps" ? groupThousands(value) : significant(value))
      : m === null
      ? "—"
      : "failed";
    return { value, text };
  };
  const own = figure(server);
  const peer = figure("nginx");
  const share = own.value === null || peer.value === null || peer.value === 0
    ? null
    : own.value / peer.value;
  return [
    `${label} (${metric === "rps" ? "req/s" : "GB/s"})`,
    serverLabel(server, results.base),
    own.text,
    peer.text,
    ratio(own.value, peer.value),
    goalVerdict(share, HTTPS_GOAL),
  ];
}

/**
 * The HTTPS table: each portico server against nginx in each HTTPS
 * scenario, with the goal. Empty when no HTTPS scenario was selected.
 */
function httpsTable(results: BenchResults): string[] {
  const keys = results.scenarios.filter(isLoadKey).filter((key) => LOAD_SCENARIOS[key].tls);
  const servers = results.servers.filter((server) => PORTICO.includes(server));
  if (keys.length === 0 || servers.length === 0) return [];
  const rows = keys.flatMap((key) => servers.map((server) => httpsRow(results, key, server)));
  return [
    "## HTTPS",
    "",
    "Portico and nginx serving the same files over TLS with the same certificate: an ECDSA " +
    "P-256 leaf for 127.0.0.1 signed by a CA, both made with openssl for the run. Portico " +
    "with `--cert` and `--key` (TLS 1.2 and 1.3, Deno's rustls); nginx with `listen ... ssl` " +
    "and `ssl_protocols TLSv1.2 TLSv1.3`, otherwise its defaults. wrk (OpenSSL) does not " +
    "verify the certificate, and offers each new connection the session of its previous one: " +
    "with `Connection: close`, a server that resumes sessions (both do, by default) does " +
    "abbreviated handshakes. " +
    `**Goal: at least nginx's figure in each (≥ ${HTTPS_GOAL.toFixed(2)}×).**`,
    "",
    table(HTTPS_HEADER, rows),
    "",
  ];
}

/** The hashing table: median ms and MB/s of each timing. Empty when not selected. */
function hashingTable(results: BenchResults): string[] {
  const hashing = results.hashing;
  if (hashing === null) return [];
  const rows = hashing.timings.map(({ name, bytes, samplesMs }) => {
    const ms = median(samplesMs);
    const rate = ms === null || bytes === null || ms === 0 ? "—" : significant(bytes / ms / 1e3);
    return [name, ms === null ? "failed" : significant(ms), rate];
  });
  return [
    "## Hashing",
    "",
    ...(rows.length === 0 ? [] : [table(["Timing", "ms", "MB/s"], rows), ""]),
  ];
}

/**
 * The whole report: header, the table, the ratios, the scenarios and notes.
 *
 * @param results The run's results.
 * @returns Markdown, ending in a newline; `deno fmt` aligns it.
 */
export function formatReport(results: BenchResults): string {
  const name = (server: ServerKey) => serverLabel(server, results.base);
  const columns = mainColumns(results);
  const row = (
    server: ServerKey,
  ) => [name(server), ...columns.map((column) => column.cell(server))];
  const main = table(
    ["Server", ...columns.map((column) => column.title)],
    results.servers.map(row),
  );
  const pairs = ratioPairs(results.servers);
  const numbers = ratioColumns(results);
  const ratios = table(
    ["Ratio", ...numbers.map((column) => column.title)],
    pairs.map(([a, b]) => [
      `${a} ÷ ${PORTICO.includes(b) ? b : name(b)}`,
      ...numbers.map((column) => ratio(column.cell(a), column.cell(b))),
    ]),
  );
  const base = results.base;
  const remarks = notes(results);
  return [
    "# portico benchmark",
    "",
    `- Date: ${results.date}`,
    `- Machine: ${results.machine.hardware}`,
    `- Versions: ${results.machine.versions}`,
    `- Command: \`${results.command}\``,
    ...(base === null ? [] : [
      `- Base: \`${base.rev}\` (commit ${base.commit}), from a git worktree, started as ours is`,
    ]),
    `- Runs: ${results.rounds} round${results.rounds === 1 ? "" : "s"} of ${results.durationS} s ` +
    "per server and wrk scenario " +
    (results.warmupS > 0 ? `after a ${results.warmupS} s warm-up` : "without warm-up") +
    ", servers alternated between rounds, median reported. Load generator and servers share " +
    `this machine's CPUs, all traffic on 127.0.0.1; ${results.pinning}.`,
    "",
    main,
    "",
    ...(pairs.length === 0 || numbers.length === 0 ? [] : [
      "Ours ÷ peer: above 1 means ours is ahead, except in columns marked lower is better.",
      "",
      ratios,
      "",
    ]),
    ...rulesTable(results),
    ...httpsTable(results),
    ...fairnessTable(results),
    ...cpuTable(results),
    ...compressionTable(results),
    ...hashingTable(results),
    "## Scenarios",
    "",
    ...legend(results),
    "",
    ...(remarks.length === 0 ? [] : ["## Notes", "", ...remarks.map((note) => `- ${note}`), ""]),
  ].join("\n");
}
