/**
 * The benchmark (`deno task bench`): portico against nginx, python's
 * http.server and a minimal Deno.serve file handler, driven by wrk on
 * 127.0.0.1. Every scenario runs against every available server in the same
 * run, servers alternated between rounds, after an unrecorded warm-up; the
 * median is reported. Also measured: resident memory idle and with 1,000
 * keep-alive connections open, and portico's start-up time. Prints a
 * Markdown report and writes it to `--out`, with the raw numbers as JSON
 * next to it.
 *
 * ```sh
 * deno run -A bench/bench.ts [--rounds N] [--duration 10s] [--warmup 2s]
 *   [--scenarios 12b,4k,...] [--servers ours,nginx,python,deno] [--out PATH] [--smoke]
 * ```
 *
 * Exit codes: 0 when the report was written (failed rounds are reported in
 * it, not by the exit code), or with `--smoke` when wrk is missing; 1 when
 * nothing could be measured or the report could not be written; 2 for a
 * mistake on the command line; 130 after Ctrl-C.
 *
 * @module
 */

import { writeCorpus } from "./_corpus.ts";
import { closeAll, freePort, get, type HeldConnections, holdConnections } from "./_http.ts";
import { aptInstall, describeMachine, findTools, which } from "./_machine.ts";
import { parseOptions, USAGE, UsageError } from "./_options.ts";
import type { BenchOptions } from "./_options.ts";
import { Children, sleep, treeRss } from "./_process.ts";
import {
  type BenchResults,
  formatReport,
  groupThousands,
  type MemoryRecord,
  type RunRecord,
  significant,
  type StartupRecord,
} from "./_report.ts";
import {
  compares,
  HELD_CONNECTIONS,
  isLoadKey,
  LOAD_SCENARIOS,
  type LoadKey,
  type LoadScenario,
  SERVER_LABELS,
  type ServerKey,
  STARTUP_SAMPLES,
} from "./_scenarios.ts";
import {
  missingTool,
  READY_PATH,
  type RunningServer,
  type ServerEnv,
  startServer,
  type Tools,
} from "./_servers.ts";
import {
  DONE_SCRIPT,
  gigabytesPerSecond,
  requestsPerSecond,
  runWrk,
  totalErrors,
  type WrkSummary,
} from "./_wrk.ts";

/** This file's directory, with a trailing slash. */
const BENCH_DIR = decodeURIComponent(new URL(".", import.meta.url).pathname);

/** The report's default path. */
const DEFAULT_OUT = `${BENCH_DIR}results.md`;

/** Permissions the benchmark needs; reading another Deno process's /proc entries needs them all. */
const PERMISSIONS = ["read", "write", "net", "env", "run", "sys", "ffi"] as const;

/** A line of progress, on standard error so standard output carries only the report. */
function progress(line: string): void {
  console.error(`bench: ${line}`);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The servers in the order of round `round` (0-based): each round starts one
 * server later, so no server always runs first or right after the same one.
 */
function rotate<T>(items: readonly T[], round: number): T[] {
  const shift = items.length === 0 ? 0 : round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** The command line for the header, quoted where a shell would need it. */
function commandLine(args: readonly string[]): string {
  const quote = (arg: string) => /^[A-Za-z0-9_./:,=@%+-]+$/.test(arg) ? arg : `'${arg}'`;
  return ["deno", "run", "-A", "bench/bench.ts", ...args.map(quote)].join(" ");
}

/** The JSON file next to the Markdown report. */
function jsonPath(out: string): string {
  return `${out.replace(/\.md$/, "")}.json`;
}

/** Rough length of a run in seconds: warm-up and rounds per server and scenario. */
function estimateSeconds(options: BenchOptions, servers: readonly ServerKey[]): number {
  let total = 0;
  for (const key of options.scenarios) {
    if (isLoadKey(key)) {
      const count = servers.filter((server) => compares(key, server)).length;
      total += count * (options.warmupMs + options.rounds * options.durationMs) / 1000 + count;
    } else {
      total += key === "rss" ? 3 * servers.length : STARTUP_SAMPLES;
    }
  }
  return total;
}

// ---------------------------------------------------------------------------
// Load scenarios

/** A scenario's extra request headers on one server, and a remark when they differ from the plan. */
interface ScenarioHeaders {
  readonly headers: string[];
  readonly note: string | null;
}

/**
 * Extra request headers for a scenario on one server. For the 304 scenario
 * the validator is the server's own: its ETag, or for a server without ETags
 * (python's http.server) its Last-Modified date; either is checked to be
 * answered 304 first.
 */
async function scenarioHeaders(
  scenario: LoadScenario,
  server: RunningServer,
): Promise<ScenarioHeaders> {
  if (scenario.header === "close") return { headers: ["Connection: close"], note: null };
  if (scenario.header === "none") return { headers: [], note: null };
  const first = await get(server.port, scenario.path);
  if (first.status !== 200) throw new Error(`GET ${scenario.path} answered ${first.status}`);
  const etag = first.headers.get("etag");
  const modified = first.headers.get("last-modified");
  const field = etag !== null
    ? `If-None-Match: ${etag}`
    : modified !== null
    ? `If-Modified-Since: ${modified}`
    : null;
  if (field === null) throw new Error(`GET ${scenario.path} has neither ETag nor Last-Modified`);
  const second = await get(server.port, scenario.path, [field]);
  if (second.status !== 304) throw new Error(`answered ${second.status} to ${field}`);
  const note = etag === null
    ? `${SERVER_LABELS[server.key]}, ${scenario.label}: it sends no ETag, so its run uses ` +
      "If-Modified-Since with its Last-Modified date."
    : null;
  return { headers: [field], note };
}

/** A 304 carries only a head; more bytes per response mean full answers. */
const MAX_304_BYTES = 1024;

/** Why a finished run does not count, or null when it does. */
function runProblem(scenario: LoadScenario, summary: WrkSummary): string | null {
  if (summary.requests === 0) {
    return `no response completed (${groupThousands(totalErrors(summary.errors))} errors)`;
  }
  if (scenario.header === "etag" && summary.bytes / summary.requests > MAX_304_BYTES) {
    return "responses carried bodies: not answered 304";
  }
  return null;
}

/** What a scenario run needs besides the options. */
interface RunContext {
  readonly env: ServerEnv;
  readonly wrk: string;
  readonly script: string;
  readonly options: BenchOptions;
}

/** One wrk run against one server, never throwing. */
async function measure(
  context: RunContext,
  scenario: LoadScenario,
  server: RunningServer,
  headers: readonly string[],
  durationMs: number,
): Promise<{ summary: WrkSummary | null; error: string | null }> {
  if (server.child.hasExited()) return { summary: null, error: "the server had exited" };
  try {
    const summary = await runWrk(context.env.children, context.wrk, {
      url: `http://127.0.0.1:${server.port}${scenario.path}`,
      threads: scenario.threads,
      connections: scenario.connections,
      durationMs,
      headers,
      script: context.script,
    });
    const problem = runProblem(scenario, summary);
    return problem === null ? { summary, error: null } : { summary: null, error: problem };
  } catch (error) {
    return { summary: null, error: message(error) };
  }
}

/** A progress line's account of one run. */
function describeRun(
  scenario: LoadScenario,
  summary: WrkSummary | null,
  error: string | null,
): string {
  if (summary === null) return `failed: ${error}`;
  const rate = scenario.metric === "rps"
    ? `${groupThousands(requestsPerSecond(summary))} req/s`
    : `${significant(gigabytesPerSecond(summary))} GB/s`;
  const errors = totalErrors(summary.errors);
  return `${rate}, p99 ${significant(summary.latencyP99Us / 1000)} ms` +
    (errors > 0 ? `, ${groupThousands(errors)} errors` : "");
}

/**
 * Runs one scenario: starts every server it compares, finds the request
 * headers for each, warms each up, then the measured rounds with the order
 * rotated every round. Servers that fail to start get failed rounds.
 */
async function runScenario(
  context: RunContext,
  key: LoadKey,
  servers: readonly ServerKey[],
): Promise<{ records: RunRecord[]; notes: string[] }> {
  const scenario: LoadScenario = LOAD_SCENARIOS[key];
  const compared = servers.filter((server) => compares(key, server));
  const started = new Map<ServerKey, RunningServer>();
  const headers = new Map<ServerKey, string[]>();
  const failures = new Map<ServerKey, string>();
  const records: RunRecord[] = [];
  const notes: string[] = [];
  try {
    for (const server of compared) {
      try {
        const running = await startServer(context.env, server, freePort(), scenario.workers);
        started.set(server, running);
        const extra = await scenarioHeaders(scenario, running);
        headers.set(server, extra.headers);
        if (extra.note !== null) notes.push(extra.note);
      } catch (error) {
        failures.set(server, message(error));
        if (!context.env.children.closed) {
          progress(`${scenario.label}, ${server}: ${message(error)}`);
        }
      }
    }
    if (context.options.warmupMs > 0) {
      for (const [server, running] of started) {
        if (failures.has(server)) continue;
        await measure(
          context,
          scenario,
          running,
          headers.get(server) ?? [],
          context.options.warmupMs,
        );
      }
    }
    for (let round = 0; round < context.options.rounds; round++) {
      for (const server of rotate(compared, round)) {
        const running = started.get(server);
        const failure = failures.get(server);
        const { summary, error } = running === undefined || failure !== undefined
          ? { summary: null, error: failure ?? "not started" }
          : await measure(
            context,
            scenario,
            running,
            headers.get(server) ?? [],
            context.options.durationMs,
          );
        records.push({ scenario: key, server, round: round + 1, summary, error });
        if (context.env.children.closed) continue;
        progress(
          `${scenario.label}, round ${round + 1}/${context.options.rounds}, ${server}: ` +
            describeRun(scenario, summary, error),
        );
      }
    }
  } finally {
    for (const running of started.values()) await context.env.children.stop(running.child);
  }
  return { records, notes };
}

// ---------------------------------------------------------------------------
// Memory and start-up

/** Time the server gets to settle after start before the idle reading. */
const SETTLE_MS = 500;

/** Limits for opening the held connections (each, and all together). */
const HOLD_LIMITS = { timeoutMs: 5_000, totalMs: 20_000 } as const;

/** KiB as MiB for a progress line. */
function mib(kib: number | null): string {
  return kib === null ? "n/a" : `${significant(kib / 1024)} MiB`;
}

/** Why fewer connections than asked for were held open, or null. */
function holdProblem(held: HeldConnections): string | null {
  if (held.noKeepAlive) {
    return "it closes every connection after its response (no keep-alive), " +
      "so none could be held open for the loaded reading";
  }
  if (held.open.length >= HELD_CONNECTIONS) return null;
  const closed = held.answered - held.open.length;
  const reasons = [
    closed > 0 ? `the server closed ${groupThousands(closed)} after answering` : "",
    held.firstError === null ? "" : `a connection failed: ${held.firstError}`,
  ].filter((reason) => reason !== "");
  return `${groupThousands(held.open.length)} of ${groupThousands(HELD_CONNECTIONS)} ` +
    `connections held open (${reasons.join("; ")})`;
}

/** Resident memory of one server idle and with 1,000 keep-alive connections open. */
async function measureMemory(env: ServerEnv, server: ServerKey): Promise<MemoryRecord> {
  const failed = (error: string): MemoryRecord => ({
    server,
    idleKiB: null,
    loadedKiB: null,
    processes: 0,
    held: 0,
    answered: 0,
    error,
  });
  let running: RunningServer;
  try {
    running = await startServer(env, server, freePort(), 1);
  } catch (error) {
    return failed(message(error));
  }
  try {
    await sleep(SETTLE_MS);
    const idle = treeRss(running.child.pid);
    const held = await holdConnections(running.port, READY_PATH, HELD_CONNECTIONS, HOLD_LIMITS);
    try {
      const loaded = treeRss(running.child.pid);
      return {
        server,
        idleKiB: idle.kib,
        loadedKiB: held.noKeepAlive ? null : loaded.kib,
        processes: loaded.processes,
        held: held.open.length,
        answered: held.answered,
        error: holdProblem(held),
      };
    } finally {
      closeAll(held.open);
    }
  } catch (error) {
    return failed(message(error));
  } finally {
    await env.children.stop(running.child);
  }
}

/** ours' start-up time: spawn to first 200, several starts, polling every 2 ms. */
async function measureStartup(env: ServerEnv): Promise<StartupRecord> {
  const samplesMs: number[] = [];
  for (let i = 0; i < STARTUP_SAMPLES; i++) {
    let running: RunningServer;
    try {
      running = await startServer(env, "ours", freePort(), 1, 2);
    } catch (error) {
      return { samplesMs, error: message(error) };
    }
    samplesMs.push(running.startMs);
    await env.children.stop(running.child);
  }
  return { samplesMs, error: null };
}

// ---------------------------------------------------------------------------
// The run

/** The tools, installing wrk and nginx with apt-get when missing (not with --smoke). */
async function prepareTools(
  bash: string,
  options: BenchOptions,
): Promise<{ tools: Tools; why: string }> {
  const tools = await findTools(bash);
  const wantsNginx = options.servers.includes("nginx");
  if (options.smoke) return { tools, why: "--smoke does not install it" };
  if (tools.wrk !== null && (!wantsNginx || tools.nginx !== null)) return { tools, why: "" };
  const failure = await aptInstall();
  return { tools: await findTools(bash), why: failure ?? "still missing after apt-get install" };
}

/** Servers that can run, and the others with the reason. */
function availableServers(
  options: BenchOptions,
  tools: Tools,
  why: string,
): { servers: ServerKey[]; skipped: Array<{ server: ServerKey; reason: string }> } {
  const servers: ServerKey[] = [];
  const skipped: Array<{ server: ServerKey; reason: string }> = [];
  for (const server of options.servers) {
    const missing = missingTool(server, tools);
    const reason = missing === null || why === "" ? missing : `${missing}: ${why}`;
    if (reason === null) {
      servers.push(server);
    } else {
      skipped.push({ server, reason });
      console.log(`bench: skipping ${SERVER_LABELS[server]}: ${reason}`);
    }
  }
  return { servers, skipped };
}

/** Runs every selected scenario and measurement in `tmp` and returns the results. */
async function measureAll(
  options: BenchOptions,
  args: readonly string[],
  tools: Tools & { readonly wrk: string },
  children: Children,
  tmp: string,
  available: ReturnType<typeof availableServers>,
): Promise<BenchResults> {
  const corpus = `${tmp}/corpus`;
  await Deno.mkdir(corpus);
  await writeCorpus(corpus, options.scenarios.includes("100m"));
  const script = `${tmp}/done.lua`;
  await Deno.writeTextFile(script, DONE_SCRIPT);
  const env: ServerEnv = { children, tools, tmp, corpus };
  const context: RunContext = { env, wrk: tools.wrk, script, options };
  const { servers } = available;
  const runs: RunRecord[] = [];
  const notes: string[] = [];
  for (const key of options.scenarios) {
    if (!isLoadKey(key)) continue;
    if (!servers.some((server) => compares(key, server))) {
      notes.push(`${LOAD_SCENARIOS[key].label}: none of its servers was selected.`);
      continue;
    }
    const outcome = await runScenario(context, key, servers);
    runs.push(...outcome.records);
    notes.push(...outcome.notes);
  }
  const memory: MemoryRecord[] = [];
  if (options.scenarios.includes("rss")) {
    for (const server of servers) {
      const record = await measureMemory(env, server);
      memory.push(record);
      progress(
        `memory, ${server}: idle ${mib(record.idleKiB)}, ` +
          `with ${record.held} connections held ${mib(record.loadedKiB)}` +
          (record.error === null ? "" : ` (${record.error})`),
      );
    }
  }
  let startup: StartupRecord | null = null;
  if (options.scenarios.includes("startup") && servers.includes("ours")) {
    startup = await measureStartup(env);
    progress(`start-up, ours: ${startup.samplesMs.map((ms) => significant(ms)).join(", ")} ms`);
  }
  return {
    date: new Date().toISOString(),
    machine: await describeMachine(tools),
    command: commandLine(args),
    rounds: options.rounds,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    scenarios: options.scenarios,
    servers,
    skipped: available.skipped,
    runs,
    memory,
    startup,
    notes,
  };
}

/** Writes the report and the JSON; returns false (after saying why) when it cannot. */
async function writeResults(out: string, report: string, results: BenchResults): Promise<boolean> {
  try {
    await Deno.writeTextFile(out, report);
    await Deno.writeTextFile(jsonPath(out), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`bench: wrote ${out} and ${jsonPath(out)}`);
    return true;
  } catch (error) {
    console.error(`bench: cannot write the report: ${message(error)}`);
    return false;
  }
}

/**
 * The benchmark's entry point.
 *
 * @param args The command-line arguments.
 * @returns The exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(args, DEFAULT_OUT);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench: ${error.message}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const missing = PERMISSIONS.filter((name) =>
    Deno.permissions.querySync({ name }).state !== "granted"
  );
  if (missing.length > 0) {
    console.error(`bench: run with --allow-all (-A); missing: ${missing.join(", ")}`);
    return 2;
  }
  const bash = which("bash");
  if (bash === null) {
    console.error("bench: bash not found (it starts every child with a raised fd limit)");
    return 1;
  }
  const { tools, why } = await prepareTools(bash, options);
  const wrk = tools.wrk;
  if (wrk === null) {
    console.log(`bench: skipped: wrk not found (${why})`);
    return options.smoke ? 0 : 1;
  }
  const available = availableServers(options, tools, why);
  if (available.servers.length === 0) {
    console.error("bench: none of the selected servers can run here");
    return 1;
  }
  const estimate = estimateSeconds(options, available.servers);
  progress(
    `about ${estimate < 90 ? `${Math.ceil(estimate)} s` : `${Math.round(estimate / 60)} min`} ` +
      `(${available.servers.join(", ")}; ${options.rounds} × ` +
      `${options.durationMs / 1000} s per server and scenario)`,
  );

  const tmp = await Deno.makeTempDir({ prefix: "portico-bench-" });
  // nginx's workers drop root privileges; they must be able to reach the corpus.
  await Deno.chmod(tmp, 0o755);
  const children = new Children(bash);
  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    cleaned ??= (async () => {
      await children.stopAll();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    })();
  const signals = [["SIGINT", 130], ["SIGTERM", 143]] as const;
  const handlers = signals.map(([signal, code]) => {
    const handler = () => {
      progress(`${signal}: stopping servers and removing ${tmp}`);
      cleanup().finally(() => Deno.exit(code));
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  try {
    const results = await measureAll(options, args, { ...tools, wrk }, children, tmp, available);
    const report = formatReport(results);
    console.log(report);
    if (options.out === null) {
      console.log("bench: not written (--smoke writes only to a path given with --out)");
      return 0;
    }
    return await writeResults(options.out, report, results) ? 0 : 1;
  } finally {
    await cleanup();
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`bench: ${message(error)}`);
    Deno.exit(1);
  }
}
