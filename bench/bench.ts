/**
 * The benchmark (`deno task bench`): portico against nginx, python's
 * http.server and a minimal Deno.serve file handler, driven by wrk on
 * 127.0.0.1; with `--base REV`, also portico at revision REV, checked out in
 * a temporary git worktree and started exactly as ours is. Every scenario
 * runs against every selected server, servers alternated between rounds,
 * after an unrecorded warm-up; the median is reported. The rule scenarios
 * run portico alone, with and without generated site rules (`--config`),
 * alternated as one set so their ratio compares like with like. The HTTPS
 * scenarios run portico and nginx with the same certificate, made with
 * openssl for the run, against the goal of at least nginx's figures. Compressed
 * scenarios (`Accept-Encoding` sent) also report bytes and server CPU time
 * per response. The fairness scenarios count the requests each of 1,000 or
 * 10,000 keep-alive connections completes, with `bench/fairness.mjs` on
 * Node.js in wrk's place, one short round per server. Also measured:
 * resident memory idle and with 1,000 keep-alive connections open,
 * portico's start-up time, and how fast portico hashes files for their
 * content tags. Prints a Markdown report and writes it to
 * `--out`, with the raw numbers as JSON next to it.
 *
 * ```sh
 * deno run -A bench/bench.ts [--servers ours,nginx,python,deno] [--base REV]
 *   [--scenarios 12b,4k,...] [--rounds N] [--duration 10s] [--warmup 2s] [--out PATH] [--smoke]
 * ```
 *
 * Exit codes: 0 when the report was written (failed rounds are reported in
 * it), or with `--smoke` when wrk is missing; 1 when nothing could be
 * measured or written; 2 for a mistake on the command line; 130 after Ctrl-C.
 *
 * @module
 */

import { writeCorpus } from "./_corpus.ts";
import { fairnessErrors, runFairness } from "./_fairness.ts";
import { measureHashing } from "./_hashing.ts";
import { closeAll, freePort, get, holdConnections, HOST } from "./_http.ts";
import { preparePeers } from "./_peers.ts";
import { type BenchOptions, parseOptions, USAGE, UsageError } from "./_options.ts";
import {
  type BenchResults,
  type EncodingRecord,
  type FairnessRecord,
  formatReport,
  groupThousands,
  type MachineInfo,
  type MemoryRecord,
  type RunRecord,
  significant,
  type StartupRecord,
} from "./_report.ts";
import {
  FAIRNESS_SCENARIOS,
  FAIRNESS_SMOKE,
  type FairnessKey,
  HELD_CONNECTIONS,
  isFairnessKey,
  isLoadKey,
  LOAD_SCENARIOS,
  type LoadKey,
  type LoadScenario,
  PORTICO,
  type RuleLoad,
  SERVER_LABELS,
  type ServerKey,
  STARTUP_SAMPLES,
} from "./_scenarios.ts";
import { makeCertificate, tlsReadiness } from "./_tls.ts";
import {
  addWorktree,
  capture,
  clockTicksPerSecond,
  findTools,
  launchFor,
  placed,
  type Placement,
  porticoRules,
  READY_PATH,
  removeWorktree,
  REPO,
  RULE_HIT_FIELD,
  RULE_PROBE,
  type Server,
  startServer,
  stopServer,
  type TlsFiles,
  type Tools,
  treeCpuMs,
  treeRssKiB,
} from "./_servers.ts";
import { DONE_SCRIPT, gigabytesPerSecond, requestsPerSecond, runWrk, totalErrors } from "./_wrk.ts";

/** What every measurement needs. */
interface Context {
  readonly options: BenchOptions;
  /** The selected servers that can run here, in table order. */
  readonly servers: readonly ServerKey[];
  readonly tools: Tools & { readonly wrk: string };
  /** The run's temporary directory: corpus, wrk script, one prefix per server start. */
  readonly tmp: string;
  /** The checkout each portico server runs from. */
  readonly checkouts: Partial<Record<ServerKey, string>>;
  /** Aborted on Ctrl-C: every child gets SIGTERM. */
  readonly signal: AbortSignal;
  /** Clock ticks per second of `/proc/PID/stat`, for servers' CPU time. */
  readonly ticks: number;
  /** The HTTPS scenarios' certificate, why there is none, or null when none is selected. */
  readonly certificate: Certificate;
}

/** The run's certificate, or why it could not be made; null when no HTTPS scenario is selected. */
type Certificate = TlsFiles | { readonly error: string } | null;

/** Makes the certificate when an HTTPS scenario is selected; a failure is kept as the reason. */
async function prepareCertificate(
  tools: Pick<Tools, "openssl">,
  tmp: string,
  options: Pick<BenchOptions, "scenarios">,
): Promise<Certificate> {
  if (!options.scenarios.filter(isLoadKey).some((key) => LOAD_SCENARIOS[key].tls)) return null;
  if (tools.openssl === null) return { error: "openssl not found: it makes the certificate" };
  try {
    const dir = `${tmp}/tls`;
    await Deno.mkdir(dir);
    return await makeCertificate(tools.openssl, dir);
  } catch (error) {
    return { error: message(error) };
  }
}

/** The certificate's files. */
function certificateFiles(context: Pick<Context, "certificate">): TlsFiles {
  const certificate = context.certificate;
  if (certificate === null) throw new Error("no certificate was made for this run");
  if ("error" in certificate) throw new Error(`no certificate: ${certificate.error}`);
  return certificate;
}

/** What the runs of the scenarios found out besides their numbers. */
interface Findings {
  /** Remarks for the report's notes. */
  readonly notes: string[];
  /** The coding each server answered each compressed scenario with. */
  readonly encodings: EncodingRecord[];
}

function progress(line: string): void {
  console.error(`bench: ${line}`);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The server's CPU while pinned; wrk (or the fairness generator) gets the other one. */
const SERVER_CPU = "0";
const WRK_CPU = "1";

/** Where a scenario's server runs; memory and start-up readings use the pinned default. */
function serverPlacement(scenario?: LoadScenario): Placement {
  return {
    cpus: scenario?.pinned === false ? null : SERVER_CPU,
    openFiles: scenario?.openFiles ?? null,
  };
}

/**
 * Starts a server on a free port with its own prefix directory, portico with
 * `config` if given; over HTTPS with the run's certificate when `tls` is true.
 */
async function start(
  context: Context,
  key: ServerKey,
  workers: number,
  placement: Placement = serverPlacement(),
  config: string | null = null,
  tls = false,
): Promise<Server> {
  const files = tls ? certificateFiles(context) : null;
  const port = freePort();
  const prefix = await Deno.makeTempDir({ dir: context.tmp, prefix: `${key}-` });
  await Deno.chmod(prefix, 0o755); // nginx's workers drop root privileges
  const plan = {
    key,
    port,
    workers,
    corpus: `${context.tmp}/corpus`,
    prefix,
    checkout: context.checkouts[key] ?? REPO,
    config,
    tls: files,
  };
  const launch = await launchFor(context.tools, plan);
  const line = placed(launch.command, launch.args, placement, context.tools.taskset);
  const ready = files === null ? undefined : tlsReadiness(await Deno.readTextFile(files.ca));
  return await startServer({ ...launch, ...line }, port, context.signal, ready);
}

// ---------------------------------------------------------------------------
// Load scenarios

/** Where a rule scenario's generated configuration file is written. */
function rulesPath(context: Pick<Context, "tmp">, key: LoadKey): string {
  return `${context.tmp}/rules-${key}.json`;
}

/** Writes the configuration file of each selected scenario that has site rules. */
async function writeRules(context: Pick<Context, "tmp">, keys: readonly LoadKey[]): Promise<void> {
  for (const key of keys) {
    const rules = LOAD_SCENARIOS[key].rules;
    if (rules !== null) await Deno.writeTextFile(rulesPath(context, key), porticoRules(rules));
  }
}

/**
 * Checks that portico serves a rule scenario as its rules say: the probe
 * redirected, and the scenario's file answered with the `/*` rule's field
 * exactly when there is one. Throws the first difference.
 */
async function checkRules(server: Server, path: string, rules: RuleLoad): Promise<void> {
  const probe = await get(server.port, RULE_PROBE.path);
  const location = probe.headers.get("location");
  if (probe.status !== RULE_PROBE.status || location !== RULE_PROBE.location) {
    throw new Error(
      `rules not in effect: ${RULE_PROBE.path} answered ${probe.status} to ${location}`,
    );
  }
  const { status, headers } = await get(server.port, path);
  const field = headers.get(RULE_HIT_FIELD.name);
  const expected = rules.hitEveryPath ? RULE_HIT_FIELD.value : null;
  if (status !== 200 || field !== expected) {
    throw new Error(`${path} answered ${status} with ${RULE_HIT_FIELD.name}: ${field}`);
  }
}

/**
 * The request headers of a scenario on one server: for the 304 scenario the
 * server's own validator, its ETag or else (python) its Last-Modified date,
 * checked to be answered 304; for a compressed scenario `Accept-Encoding`,
 * and the coding the server answers it with is recorded.
 */
async function scenarioHeaders(
  key: LoadKey,
  name: ServerKey,
  server: Server,
  findings: Findings,
): Promise<string[]> {
  const scenario = LOAD_SCENARIOS[key];
  if (scenario.rules !== null) await checkRules(server, scenario.path, scenario.rules);
  if (scenario.acceptEncoding !== null) {
    const field = `Accept-Encoding: ${scenario.acceptEncoding}`;
    const { status, headers } = await get(server.port, scenario.path, [field]);
    if (status !== 200) throw new Error(`answered ${status} to ${field}`);
    const coding = headers.get("content-encoding") ?? "identity";
    findings.encodings.push({ scenario: key, server: name, coding });
    return [field];
  }
  if (scenario.header === "close") return ["Connection: close"];
  if (scenario.header === "none") return [];
  const { headers } = await get(server.port, scenario.path);
  const etag = headers.get("etag");
  const modified = headers.get("last-modified");
  const field = etag !== null ? `If-None-Match: ${etag}` : `If-Modified-Since: ${modified}`;
  if (etag === null && modified === null) throw new Error("neither ETag nor Last-Modified");
  const { status } = await get(server.port, scenario.path, [field]);
  if (status !== 304) throw new Error(`answered ${status} to ${field}`);
  if (etag === null) {
    findings.notes.push(
      `${SERVER_LABELS[name]}, ${scenario.label}: it sends no ETag, so its run uses ` +
        "If-Modified-Since with its Last-Modified date.",
    );
  }
  return [field];
}

/** One wrk run; a failure is recorded, never thrown. */
async function measure(
  context: Context,
  key: LoadKey,
  server: Server,
  headers: readonly string[],
  seconds: number,
): Promise<Pick<RunRecord, "summary" | "cpuMs" | "peakRssKiB" | "error">> {
  const scenario = LOAD_SCENARIOS[key];
  let peakRssKiB: number | null = null;
  const sampleRss = () => {
    try {
      peakRssKiB = Math.max(peakRssKiB ?? 0, treeRssKiB(server.pid));
    } catch {
      // Not readable now; the other samples count.
    }
  };
  const sampler = scenario.peakRss ? setInterval(sampleRss, 250) : undefined;
  const cpu = () => {
    try {
      return treeCpuMs(server.pid, context.ticks);
    } catch {
      return null;
    }
  };
  try {
    const before = cpu();
    const summary = await runWrk(
      context.tools.wrk,
      {
        url: `${scenario.tls ? "https" : "http"}://${HOST}:${server.port}${scenario.path}`,
        threads: scenario.threads,
        connections: scenario.connections,
        seconds,
        headers,
        script: `${context.tmp}/done.lua`,
        placement: { cpus: scenario.pinned ? WRK_CPU : null, openFiles: scenario.openFiles },
      },
      context.signal,
      context.tools.taskset,
    );
    const after = cpu();
    const cpuMs = before === null || after === null ? null : after - before;
    const failed = { summary: null, cpuMs: null, peakRssKiB: null };
    if (summary.requests === 0) {
      return { ...failed, error: `no response (${totalErrors(summary.errors)} errors)` };
    }
    if (scenario.header === "validator" && summary.bytes / summary.requests > 1024) {
      return { ...failed, error: "responses carried bodies: not answered 304" };
    }
    return { summary, cpuMs, peakRssKiB, error: null };
  } catch (error) {
    return { summary: null, cpuMs: null, peakRssKiB: null, error: message(error) };
  } finally {
    clearInterval(sampler);
  }
}

/** One server in one wrk scenario: what the rounds of a set alternate. */
interface Entrant {
  readonly key: LoadKey;
  readonly name: ServerKey;
}

/**
 * The selected wrk scenarios in the sets they run in: each alone, except
 * that a scenario runs in the set of its baseline when that is selected too.
 */
function loadSets(keys: readonly LoadKey[]): LoadKey[][] {
  const sets = new Map<LoadKey, LoadKey[]>();
  for (const key of keys) {
    const baseline = LOAD_SCENARIOS[key].baseline;
    const lead = baseline !== null && keys.includes(baseline) ? baseline : key;
    sets.set(lead, [...sets.get(lead) ?? [], key]);
  }
  return [...sets.values()];
}

/** A running entrant, with the request headers of its scenario. */
interface Ready {
  readonly server: Server;
  readonly headers: string[];
}

/**
 * Starts each entrant's server (pushed to `started` for the caller to stop)
 * and reads its scenario's headers; a failure is kept as the entrant's reason.
 */
async function startEntrants(
  context: Context,
  entrants: readonly Entrant[],
  started: Server[],
  findings: Findings,
): Promise<{ ready: Map<Entrant, Ready>; failed: Map<Entrant, string> }> {
  const ready = new Map<Entrant, Ready>();
  const failed = new Map<Entrant, string>();
  for (const entrant of entrants) {
    const { key, name } = entrant;
    const scenario = LOAD_SCENARIOS[key];
    const config = scenario.rules === null ? null : rulesPath(context, key);
    try {
      const placement = serverPlacement(scenario);
      const { workers, tls } = scenario;
      const server = await start(context, name, workers, placement, config, tls);
      started.push(server);
      ready.set(entrant, { server, headers: await scenarioHeaders(key, name, server, findings) });
    } catch (error) {
      failed.set(entrant, message(error));
    }
  }
  return { ready, failed };
}

/**
 * Runs one set of scenarios: starts every server each compares, warms each
 * up, then the measured rounds, each round starting one entrant later than
 * the last.
 */
async function runSet(
  context: Context,
  keys: readonly LoadKey[],
  findings: Findings,
): Promise<RunRecord[]> {
  const { rounds, warmupS, durationS } = context.options;
  const entrants = keys.flatMap((key) =>
    context.servers.filter((server) => LOAD_SCENARIOS[key].servers.includes(server))
      .map((name): Entrant => ({ key, name }))
  );
  const started: Server[] = [];
  const records: RunRecord[] = [];
  try {
    const { ready, failed } = await startEntrants(context, entrants, started, findings);
    if (warmupS > 0) {
      for (const [{ key }, { server, headers }] of ready) {
        await measure(context, key, server, headers, warmupS);
      }
    }
    for (let round = 1; round <= rounds; round++) {
      const shift = (round - 1) % entrants.length;
      for (const entrant of [...entrants.slice(shift), ...entrants.slice(0, shift)]) {
        const { key, name } = entrant;
        const entry = ready.get(entrant);
        const { summary, cpuMs, peakRssKiB, error } = entry === undefined
          ? {
            summary: null,
            cpuMs: null,
            peakRssKiB: null,
            error: failed.get(entrant) ?? "not started",
          }
          : await measure(context, key, entry.server, entry.headers, durationS);
        records.push({ scenario: key, server: name, round, summary, cpuMs, peakRssKiB, error });
        const scenario = LOAD_SCENARIOS[key];
        const rate = summary === null
          ? `failed: ${error}`
          : scenario.metric === "rps"
          ? `${groupThousands(requestsPerSecond(summary))} req/s`
          : `${significant(gigabytesPerSecond(summary))} GB/s`;
        progress(`${scenario.label}, round ${round}/${rounds}, ${name}: ${rate}`);
      }
    }
  } finally {
    for (const server of started) await stopServer(server);
  }
  return records;
}

// ---------------------------------------------------------------------------
// Fairness scenarios

/** One server's fairness run: started alone, measured once, stopped; a failure is recorded. */
async function measureFairness(
  context: Context,
  key: FairnessKey,
  name: ServerKey,
): Promise<FairnessRecord> {
  const scenario = FAIRNESS_SCENARIOS[key];
  const form = context.options.smoke ? FAIRNESS_SMOKE : scenario;
  const { connections, durationS, warmupS } = form;
  const record = { scenario: key, server: name, connections, durationS, warmupS };
  const node = context.tools.node;
  if (node === null) return { ...record, summary: null, error: "node (Node.js) not found" };
  let server: Server;
  try {
    const placement = { cpus: SERVER_CPU, openFiles: scenario.openFiles };
    server = await start(context, name, 1, placement);
  } catch (error) {
    return { ...record, summary: null, error: message(error) };
  }
  try {
    const summary = await runFairness(
      node,
      {
        host: HOST,
        port: server.port,
        path: scenario.path,
        connections,
        seconds: durationS,
        warmupS,
        headers: [],
        placement: { cpus: WRK_CPU, openFiles: scenario.openFiles },
      },
      context.signal,
      context.tools.taskset,
    );
    const error = summary.requests === 0
      ? `no response (${fairnessErrors(summary.errors)} errors)`
      : null;
    return { ...record, summary, error };
  } catch (error) {
    return { ...record, summary: null, error: message(error) };
  } finally {
    await stopServer(server);
  }
}

/** Runs one fairness scenario against every server it compares, one after the other. */
async function runFairnessScenario(context: Context, key: FairnessKey): Promise<FairnessRecord[]> {
  const scenario = FAIRNESS_SCENARIOS[key];
  const records: FairnessRecord[] = [];
  for (const name of context.servers.filter((server) => scenario.servers.includes(server))) {
    const record = await measureFairness(context, key, name);
    records.push(record);
    const s = record.summary;
    const figures = s === null
      ? `failed: ${record.error}`
      : `${groupThousands(s.requestsPerSecond)} req/s, per connection ` +
        `${s.min}/${s.median}/${s.max}, spread ` +
        `${s.spread === null ? "n/a" : `${significant(s.spread * 100)} %`}, ` +
        `${s.starved} starved, ${fairnessErrors(s.errors)} errors`;
    progress(`${scenario.label} fairness, ${name}: ${figures}`);
  }
  return records;
}

// ---------------------------------------------------------------------------
// Memory and start-up

/** Resident memory of one server idle, and with 1,000 keep-alive connections open. */
async function measureMemory(context: Context, name: ServerKey): Promise<MemoryRecord> {
  let server: Server;
  try {
    server = await start(context, name, 1);
  } catch (error) {
    return { server: name, idleKiB: null, loadedKiB: null, held: 0, error: message(error) };
  }
  try {
    await new Promise((resolve) => setTimeout(resolve, 500)); // let it settle after start
    const idleKiB = treeRssKiB(server.pid);
    const held = await holdConnections(server.port, READY_PATH, HELD_CONNECTIONS);
    try {
      const loadedKiB = held.noKeepAlive ? null : treeRssKiB(server.pid);
      const error = held.noKeepAlive || held.open.length === HELD_CONNECTIONS
        ? null
        : `${held.open.length} of ${HELD_CONNECTIONS} connections held open ` +
          `(${held.error ?? "the server closed the others"})`;
      return { server: name, idleKiB, loadedKiB, held: held.open.length, error };
    } finally {
      closeAll(held.open);
    }
  } catch (error) {
    return { server: name, idleKiB: null, loadedKiB: null, held: 0, error: message(error) };
  } finally {
    await stopServer(server);
  }
}

/**
 * Start-up of each portico server: spawn to first 200, the servers
 * alternated, after an untimed start of each (which fills Deno's cache for
 * a fresh worktree).
 */
async function measureStartup(context: Context): Promise<StartupRecord[]> {
  const servers = context.servers.filter((server) => PORTICO.includes(server));
  const records = servers.map((server) => ({
    server,
    samplesMs: [] as number[],
    error: null as string | null,
  }));
  for (let i = -1; i < STARTUP_SAMPLES; i++) {
    for (const record of records.filter((record) => record.error === null)) {
      try {
        const server = await start(context, record.server, 1);
        await stopServer(server);
        if (i >= 0) record.samplesMs.push(server.startMs);
      } catch (error) {
        record.error = message(error);
      }
    }
  }
  return records;
}

// ---------------------------------------------------------------------------
// The run

/** The version in the package.json above an npm package's script. */
async function npmVersion(script: string): Promise<string> {
  const dir = script.replace(/\/(bin|build)\/[^/]+$/, "");
  const json = await Deno.readTextFile(`${dir}/package.json`).catch(() => "{}");
  return JSON.parse(json).version ?? "unknown";
}

/** The machine and versions, for the report's header. */
async function describeMachine(tools: Tools): Promise<MachineInfo> {
  const read = (path: string) => Deno.readTextFile(path).catch(() => "");
  const cpu = /^model name\s*:\s*(.+)$/m.exec(await read("/proc/cpuinfo"))?.[1] ?? "unknown CPU";
  const kib = Number(/^MemTotal:\s+([0-9]+) kB$/m.exec(await read("/proc/meminfo"))?.[1] ?? 0);
  const memory = `${significant(kib / 1024 / 1024)} GiB memory`;
  const kernel = `${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch})`;
  const version = async (tool: string | null, args: string[], pattern: RegExp) => {
    if (tool === null) return "not found";
    const { stdout, stderr } = await capture(tool, args);
    return pattern.exec(stdout + stderr)?.[1] ?? "unknown";
  };
  return {
    hardware: `${cpu.trim()}, ${navigator.hardwareConcurrency} cores, ${memory}, ${kernel}`,
    versions: [
      `Deno ${Deno.version.deno}`,
      `nginx ${await version(tools.nginx, ["-v"], /nginx\/(\S+)/)}`,
      `wrk ${await version(tools.wrk, ["-v"], /^wrk (\S+)/m)}`,
      `OpenSSL ${await version(tools.openssl, ["version"], /^OpenSSL (\S+)/)}`,
      `Python ${await version(tools.python, ["--version"], /Python (\S+)/)}`,
      `caddy ${await version(tools.caddy, ["version"], /^v?(\S+)/)}`,
      `Bun ${await version(tools.bun, ["--version"], /^(\S+)/)}`,
      `Node.js ${await version(tools.node, ["--version"], /^v?(\S+)/)}`,
      `serve ${tools.serve === null ? "not found" : await npmVersion(tools.serve)}`,
      `http-server ${tools.httpServer === null ? "not found" : await npmVersion(tools.httpServer)}`,
    ].join(", "),
  };
}

/** Every selected measurement, in table order. */
async function measureAll(
  context: Context,
  header: Pick<BenchResults, "command" | "base" | "skipped" | "pinning">,
): Promise<BenchResults> {
  const { options, servers, tmp } = context;
  const loadKeys = options.scenarios.filter(isLoadKey);
  const large = loadKeys.some((key) => LOAD_SCENARIOS[key].path === "/100m.bin") ||
    options.scenarios.includes("hash");
  await writeCorpus(`${tmp}/corpus`, large);
  await Deno.writeTextFile(`${tmp}/done.lua`, DONE_SCRIPT);
  await writeRules(context, loadKeys);
  const runs: RunRecord[] = [];
  const findings: Findings = { notes: [], encodings: [] };
  for (const keys of loadSets(loadKeys)) runs.push(...await runSet(context, keys, findings));
  const fairness: FairnessRecord[] = [];
  for (const key of options.scenarios.filter(isFairnessKey)) {
    fairness.push(...await runFairnessScenario(context, key));
  }
  const memory: MemoryRecord[] = [];
  if (options.scenarios.includes("rss")) {
    for (const server of servers) {
      const record = await measureMemory(context, server);
      memory.push(record);
      const mib = (kib: number | null) => kib === null ? "n/a" : `${significant(kib / 1024)} MiB`;
      const loaded = `${record.held} connections ${mib(record.loadedKiB)}`;
      progress(`memory, ${server}: idle ${mib(record.idleKiB)}, ${loaded}`);
    }
  }
  const startup = options.scenarios.includes("startup") ? await measureStartup(context) : [];
  for (const record of startup) {
    progress(`start-up, ${record.server}: ${record.samplesMs.map(significant).join(", ")} ms`);
  }
  const hashing = options.scenarios.includes("hash")
    ? await measureHashing(`${tmp}/corpus`, progress)
    : null;
  return {
    date: new Date().toISOString(),
    machine: await describeMachine(context.tools),
    ...header,
    rounds: options.rounds,
    durationS: options.durationS,
    warmupS: options.warmupS,
    scenarios: options.scenarios,
    servers,
    runs,
    fairness,
    memory,
    startup: startup.filter((record) => PORTICO.includes(record.server)),
    encodings: findings.encodings,
    hashing,
    notes: [...new Set(findings.notes)],
  };
}

/** The report aligned by `deno fmt` with this repository's settings; as it is when that fails. */
async function formatMarkdown(markdown: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "md", "-"],
    cwd: REPO,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(markdown));
  await writer.close();
  const { code, stdout } = await child.output();
  return code === 0 ? new TextDecoder().decode(stdout) : markdown;
}

/** The tools, installing wrk and nginx with apt-get when they are missing (not with --smoke). */
async function prepareTools(options: BenchOptions): Promise<{ tools: Tools; why: string }> {
  const tools = findTools();
  if (tools.wrk !== null && (tools.nginx !== null || !options.servers.includes("nginx"))) {
    return { tools, why: "" };
  }
  if (options.smoke) return { tools, why: "--smoke does not install it" };
  progress("wrk or nginx missing; running apt-get install -y wrk nginx-light");
  const apt = await capture("apt-get", ["install", "-y", "wrk", "nginx-light"], {
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
  const why = apt.code === 0
    ? "still missing after apt-get install"
    : `apt-get install failed: ${apt.stderr.trim().split("\n").at(-1)}`;
  return { tools: findTools(), why };
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
    options = parseOptions(args, `${REPO}bench/results.md`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench: ${error.message}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    console.error("bench: run with --allow-all (-A): it reads /proc of Deno processes");
    return 2;
  }
  const { tools, why } = await prepareTools(options);
  const wrk = tools.wrk;
  if (wrk === null) {
    console.log(`bench: skipped: wrk not found (${why})`);
    return options.smoke ? 0 : 1;
  }
  const missing = (server: ServerKey) =>
    server === "nginx" && tools.nginx === null || server === "python" && tools.python === null;
  const peers = await preparePeers(tools, options.servers, !options.smoke, progress);
  const skipped = [
    ...options.servers.filter(missing).map((server) => ({
      server,
      reason: `${server === "nginx" ? "nginx" : "python3"} not found${
        why === "" ? "" : `: ${why}`
      }`,
    })),
    ...peers.skipped,
  ];
  const servers = options.servers.filter((server) =>
    !skipped.some((entry) => entry.server === server)
  );
  for (const { server, reason } of skipped) progress(`${server}: not run (${reason})`);

  const tmp = await Deno.makeTempDir({ prefix: "portico-bench-" });
  await Deno.chmod(tmp, 0o755); // nginx's workers drop root privileges
  const abort = new AbortController();
  const worktree = `${tmp}/base-checkout`;
  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    cleaned ??= (async () => {
      abort.abort();
      // Git made the directory only if it registered the worktree.
      if (await Deno.stat(worktree).then(() => true, () => false)) {
        await removeWorktree(worktree).catch((error) => {
          console.error(`bench: ${message(error)}; run: git worktree remove --force ${worktree}`);
        });
      }
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    })();
  const signals = [["SIGINT", 130], ["SIGTERM", 143]] as const;
  const handlers = signals.map(([signal, code]) => {
    const handler = () => {
      progress(`${signal}: stopping servers, removing ${tmp}`);
      cleanup().finally(() => Deno.exit(code));
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  try {
    let base: BenchResults["base"] = null;
    if (options.base !== null) {
      base = { rev: options.base, commit: await addWorktree(options.base, worktree) };
      progress(`base: ${base.rev} (commit ${base.commit}) checked out in ${worktree}`);
    }
    const checkouts = base === null ? {} : { base: worktree };
    const context = {
      options,
      servers,
      tools: { ...peers.tools, wrk },
      tmp,
      checkouts,
      signal: abort.signal,
      ticks: await clockTicksPerSecond(),
      certificate: await prepareCertificate(tools, tmp, options),
    };
    const command = ["deno", "run", "-A", "bench/bench.ts", ...args].join(" ");
    const pinning = tools.taskset === null
      ? "unpinned: taskset not found"
      : `servers on CPU ${SERVER_CPU} and wrk or the fairness generator on CPU ${WRK_CPU} ` +
        "(taskset -c), " +
        "except in the 2 workers scenario";
    const results = await measureAll(context, { command, base, skipped, pinning });
    const report = await formatMarkdown(formatReport(results));
    console.log(report);
    if (options.out === null) return 0;
    const json = `${options.out.replace(/\.md$/, "")}.json`;
    await Deno.writeTextFile(options.out, report);
    await Deno.writeTextFile(json, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`bench: wrote ${options.out} and ${json}`);
    return 0;
  } catch (error) {
    console.error(`bench: ${message(error)}`);
    return 1;
  } finally {
    await cleanup();
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
