/**
 * The rolling-restart proof (`deno task fleet`): several replicas of portico
 * (`main.ts`, started with the permissions of `deno task serve`) on loopback
 * ports behind HAProxy, which checks each one's health endpoint. wrk drives
 * load through HAProxy for the whole run while a large download goes
 * through it too, and the replicas are restarted one after another:
 * SIGTERM, the exit, a fresh start on the same port, and HAProxy seeing it
 * UP again. The replica serving the download goes first, and the download
 * reads on only once that replica has stopped accepting, so its bytes cross
 * the restart.
 *
 * It passes when wrk saw no socket error and no status outside 2xx and 3xx,
 * the download arrived byte-exact, every replica exited 0, and every file
 * has the same ETag on every replica although each replica's copies carry
 * other modification times.
 *
 * ```sh
 * deno task fleet [--duration 30s] [--replicas 3] [--download-mib 100] [--short]
 * ```
 *
 * It needs haproxy and wrk (Debian packages). Exit codes: 0 pass, 1 fail,
 * 2 for a mistake on the command line or a missing tool, 130 after Ctrl-C
 * and 143 after SIGTERM (both stop every process it started first).
 *
 * @module
 */

import denoJson from "../deno.json" with { type: "json" };
import { join, parseArgs } from "../lib/deps.ts";
import { freePort, HOST } from "./_http.ts";
import { parseSeconds, UsageError } from "./_options.ts";
import { REPO, which } from "./_servers.ts";

/** The usage text printed by `--help`. */
const USAGE = `portico fleet: a rolling restart of portico replicas behind HAProxy under load

Usage: deno task fleet [OPTIONS]

Options:
  --duration TIME     How long wrk drives load, whole seconds: 30, 30s or 1m
                      (default: 30s; 10s with --short)
  --replicas N        Replicas behind HAProxy, 2 to 16 (default: 3)
  --download-mib N    Size of the download that crosses a restart, MiB, 1 to 4096
                      (default: 100; 16 with --short)
  --short             The short run of the tests
  --help              Print this text`;

/** What one run does. */
export interface FleetOptions {
  /** How long wrk drives load, seconds. */
  readonly durationS: number;
  /** How many replicas run behind HAProxy. */
  readonly replicas: number;
  /** The download's size, MiB. */
  readonly downloadMiB: number;
  /** The short run of the tests. */
  readonly short: boolean;
  /** Print the usage text and exit. */
  readonly help: boolean;
}

/** The defaults of a full run and of `--short`; explicit flags win over both. */
const DEFAULTS = {
  full: { durationS: 30, replicas: 3, downloadMiB: 100 },
  short: { durationS: 10, replicas: 3, downloadMiB: 16 },
} as const;

/** The numeric flags: name, the option they set, and their range. */
const COUNT_FLAGS = [
  { flag: "replicas", key: "replicas", min: 2, max: 16 },
  { flag: "download-mib", key: "downloadMiB", min: 1, max: 4096 },
] as const;

/** HAProxy's health checks: every 200 ms, out after 2 failures, back after 1 success. */
const CHECKS = { interMs: 200, fall: 2, rise: 1 } as const;

/**
 * How long a replica keeps accepting after SIGTERM while its health says
 * 503: HAProxy takes it out after `fall` failed checks `inter` apart, plus
 * the time a check takes, so two and a half times that leaves room on a
 * loaded machine.
 */
const DRAIN_DELAY_MS = CHECKS.fall * CHECKS.interMs * 5 / 2;

/** How long requests in progress (the download) may take once a replica stops accepting. */
const SHUTDOWN_TIMEOUT = "120s";

/** The health endpoint every replica answers and HAProxy checks. */
const HEALTH_PATH = "/healthz";

/** The header HAProxy adds to every response: which replica sent it. */
const REPLICA_HEADER = "x-fleet-replica";

/** HAProxy's names: the frontend wrk connects to and the backend of the replicas. */
const PROXY_NAMES = { frontend: "fleet", backend: "replicas" } as const;

/** wrk's load: one thread, twenty keep-alive connections. */
const LOAD = { threads: 1, connections: 20 } as const;

/** Safety nets, each turning a hang into a failure; generous for a loaded machine. */
const LIMITS_MS = {
  /** A replica prints its URL; HAProxy's stats socket answers. */
  start: 30_000,
  /** HAProxy shows a server UP or DOWN, or wrk's connections. */
  state: 15_000,
  /** A replica exits after SIGTERM: the shutdown timeout and then some. */
  exit: 130_000,
  /** One query on the stats socket. */
  stat: 5_000,
  /** One request for the ETag check. */
  request: 10_000,
  /** The whole download. */
  download: 300_000,
  /** wrk past its duration. */
  wrkOver: 30_000,
  /** A process stopped in the end, before SIGKILL. */
  stop: 10_000,
} as const;

/** Pause between two polls of a state that has a deadline. */
const POLL_MS = 20;

/** The site every replica serves besides the download: path → size in bytes. */
const SITE_FILES = {
  "index.html": 2_345,
  "style.css": 7_000,
  "app.js": 48_000,
  "logo.svg": 1_200,
  "docs/guide.html": 16_384,
  "data/items.json": 300,
} as const;

/** The download's path in the site. */
const DOWNLOAD_PATH = "download.bin";

/** The download reads this much, then waits until its replica has stopped accepting. */
const PAUSE_AT_BYTES = 1024 * 1024;

const MIB = 1024 * 1024;
const DAY_MS = 86_400_000;

/**
 * Turns the command line into options; `--short` changes the defaults.
 *
 * @param args The arguments after `fleet.ts`.
 * @returns The options.
 * @throws {UsageError} For a flag that is unknown or malformed, or a stray argument.
 *
 * @example
 * ```ts
 * parseFleetOptions(["--short", "--replicas", "4"]).replicas; // 4
 * parseFleetOptions(["--short"]).downloadMiB; // 16
 * ```
 */
export function parseFleetOptions(args: readonly string[]): FleetOptions {
  const flags = parseArgs(args, {
    string: ["duration", ...COUNT_FLAGS.map((count) => count.flag)],
    boolean: ["short", "help"],
    unknown: (arg) => {
      throw new UsageError(`unknown argument "${arg}"; see --help`);
    },
  });
  const short = flags.short === true;
  const defaults = short ? DEFAULTS.short : DEFAULTS.full;
  const counts = Object.fromEntries(COUNT_FLAGS.map(({ flag, key, min, max }) => {
    const text = flags[flag];
    return [key, typeof text === "string" ? parseCount(flag, text, min, max) : defaults[key]];
  })) as Record<(typeof COUNT_FLAGS)[number]["key"], number>;
  const duration = flags.duration;
  const durationS = typeof duration === "string"
    ? parseSeconds("duration", duration, 5)
    : defaults.durationS;
  return {
    durationS,
    replicas: counts.replicas,
    downloadMiB: counts.downloadMiB,
    short,
    help: flags.help === true,
  };
}

function parseCount(flag: string, text: string, min: number, max: number): number {
  const n = /^[0-9]{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

// ---------------------------------------------------------------------------
// Waiting with deadlines

/** Raised when Ctrl-C or SIGTERM ends the run. */
class Interrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "Interrupted";
  }
}

/** `promise`, or an error naming `what` once `ms` have passed or `signal` aborts. */
async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  signal: AbortSignal,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort = () => {};
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms / 1000} s`)), ms);
    onAbort = () => reject(new Interrupted());
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Asks `probe` every {@linkcode POLL_MS} until it answers something other
 * than null, for at most `ms`; `gone` says why to give up at once (a process
 * that has exited), or null.
 */
async function pollUntil<T>(
  probe: () => Promise<T | null>,
  ms: number,
  what: string,
  signal: AbortSignal,
  gone: () => string | null = () => null,
): Promise<T> {
  const end = performance.now() + ms;
  let last = "";
  while (true) {
    if (signal.aborted) throw new Interrupted();
    const why = gone();
    if (why !== null) throw new Error(`${what}: ${why}`);
    try {
      const answer = await probe();
      if (answer !== null) return answer;
    } catch (error) {
      last = ` (${error instanceof Error ? error.message : String(error)})`;
    }
    if (performance.now() >= end) throw new Error(`${what}: not within ${ms / 1000} s${last}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// ---------------------------------------------------------------------------
// Child processes

/** How many characters of a child's output are kept. */
const OUTPUT_KEPT = 64 * 1024;

/**
 * A child process whose outputs are read to their end (so a full pipe never
 * blocks it): standard output kept from its start, both kept in a tail for
 * error messages.
 */
class Child {
  readonly name: string;
  readonly process: Deno.ChildProcess;
  #stdout = "";
  #tail = "";
  #exit: Deno.CommandStatus | null = null;
  #grew = Promise.withResolvers<void>();

  constructor(name: string, command: string, args: readonly string[]) {
    this.name = name;
    this.process = new Deno.Command(command, {
      args: [...args],
      cwd: REPO,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#read(this.process.stdout, true).catch(() => {});
    this.#read(this.process.stderr, false).catch(() => {});
    this.process.status.then((status) => {
      this.#exit = status;
      this.#grew.resolve();
    });
  }

  async #read(stream: ReadableStream<Uint8Array>, isStdout: boolean): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      if (isStdout) this.#stdout = (this.#stdout + text).slice(0, OUTPUT_KEPT);
      this.#tail = (this.#tail + text).slice(-4_000);
      this.#grew.resolve();
      this.#grew = Promise.withResolvers<void>();
    }
  }

  /** Its exit status, or null while it runs. */
  get exit(): Deno.CommandStatus | null {
    return this.#exit;
  }

  /** What it printed on standard output (the first 64 KiB). */
  get stdout(): string {
    return this.#stdout;
  }

  /** Its last words on both outputs, on one line. */
  get lastWords(): string {
    return this.#tail.trim().split("\n").slice(-3).join(" | ") || "no output";
  }

  /** Why waiting for it is pointless (it has exited), or null. */
  readonly gone = (): string | null =>
    this.#exit === null
      ? null
      : `${this.name} exited with ${
        this.#exit.signal ?? `code ${this.#exit.code}`
      }: ${this.lastWords}`;

  /** The first match of `pattern` in its standard output, within `ms`. */
  async waitFor(pattern: RegExp, ms: number, signal: AbortSignal): Promise<RegExpExecArray> {
    const end = performance.now() + ms;
    while (true) {
      const match = pattern.exec(this.#stdout);
      if (match !== null) return match;
      const why = this.gone();
      if (why !== null) throw new Error(why);
      const left = Math.max(0, end - performance.now());
      await withDeadline(this.#grew.promise, left, `${this.name} printing ${pattern}`, signal);
    }
  }

  /** Sends a signal, unless it has exited. */
  kill(signal: Deno.Signal): void {
    try {
      if (this.#exit === null) this.process.kill(signal);
    } catch {
      // It has just exited.
    }
  }

  /** Stops it: SIGTERM, and SIGKILL when it is still there after {@linkcode LIMITS_MS}.stop. */
  async stop(): Promise<void> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), LIMITS_MS.stop);
    await this.process.status;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// The site

/** The files every replica serves, and the download's bytes. */
interface Site {
  /** One document root per replica. */
  readonly roots: readonly string[];
  /** Every file's URL path, the download's last. */
  readonly paths: readonly string[];
  /** The download's bytes, which every byte received is checked against. */
  readonly download: Uint8Array;
}

/** `size` bytes that look random and are the same for the same seed (xorshift32). */
function pseudoRandomBytes(size: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, size);
}

/**
 * Writes the site once, then copies it into one root per replica, each
 * replica's files with another modification time (a day apart), so that
 * equal ETags show that they come from the content.
 */
async function makeSite(dir: string, replicas: number, downloadBytes: number): Promise<Site> {
  const files = Object.entries(SITE_FILES).map(([path, size], i) =>
    [path, pseudoRandomBytes(size, i + 2)] as const
  );
  const download = pseudoRandomBytes(downloadBytes, 1);
  const all = [...files, [DOWNLOAD_PATH, download] as const];
  const source = join(dir, "site");
  for (const [path, bytes] of all) {
    await Deno.mkdir(join(source, path, ".."), { recursive: true });
    await Deno.writeFile(join(source, path), bytes);
  }
  const roots: string[] = [];
  for (let r = 0; r < replicas; r++) {
    const root = join(dir, `root${r}`);
    const mtime = new Date(Date.now() - (r + 1) * DAY_MS);
    for (const [path] of all) {
      await Deno.mkdir(join(root, path, ".."), { recursive: true });
      await Deno.copyFile(join(source, path), join(root, path));
      await Deno.utime(join(root, path), mtime, mtime);
    }
    roots.push(root);
  }
  return { roots, paths: all.map(([path]) => `/${path}`), download };
}

// ---------------------------------------------------------------------------
// The replicas

/** The line a replica prints once it listens; group 1 is the port. */
const LISTENING_URL = /http:\/\/127\.0\.0\.1:(\d+)\//;

/** main.ts, and the `deno run` flags of the serve task, so replicas start as the task does. */
function serveCommand(): string[] {
  const words = denoJson.tasks.serve.split(/\s+/);
  return [...words.slice(1, -1), join(REPO, "main.ts")];
}

/** One replica: its name in HAProxy, its fixed port and root, and its current process. */
interface Replica {
  readonly name: string;
  readonly port: number;
  readonly root: string;
  child: Child;
}

/** Starts main.ts on `port` (0: the system's choice) and returns the port it printed. */
async function startReplica(
  name: string,
  root: string,
  port: number,
  children: Child[],
  signal: AbortSignal,
): Promise<{ child: Child; port: number }> {
  const child = new Child(name, Deno.execPath(), [
    ...serveCommand(),
    ...["--root", root, "--host", HOST, "--port", String(port)],
    ...["--health", HEALTH_PATH, "--drain-delay", `${DRAIN_DELAY_MS}ms`],
    ...["--shutdown-timeout", SHUTDOWN_TIMEOUT, "--quiet"],
  ]);
  children.push(child);
  const url = await child.waitFor(LISTENING_URL, LIMITS_MS.start, signal);
  return { child, port: Number(url[1]) };
}

/** Starts every replica on a port the system picks; restarts reuse those ports. */
async function startReplicas(
  roots: readonly string[],
  children: Child[],
  signal: AbortSignal,
): Promise<Replica[]> {
  return await Promise.all(roots.map(async (root, r) => {
    const name = `r${r}`;
    const { child, port } = await startReplica(name, root, 0, children, signal);
    return { name, port, root, child };
  }));
}

// ---------------------------------------------------------------------------
// HAProxy

/** Where HAProxy listens and what it balances. */
export interface BalancerPlan {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** The path of its stats socket. */
  readonly socket: string;
  /** The replicas: HAProxy's server name and port on 127.0.0.1. */
  readonly replicas: ReadonlyArray<{ readonly name: string; readonly port: number }>;
}

/**
 * HAProxy's configuration: a stats socket, a frontend on the loopback port,
 * and a round-robin backend whose servers are checked with `GET` on the
 * health path every {@linkcode CHECKS}.interMs. A request that finds no
 * connection or no answer is retried, on another replica when it can be.
 * Every response names the replica that sent it in `X-Fleet-Replica`.
 *
 * @param plan The port, the stats socket and the replicas.
 * @returns The configuration file's content.
 *
 * @example
 * ```ts
 * haproxyConfig({ port: 8000, socket: "/tmp/s", replicas: [{ name: "r0", port: 9000 }] })
 *   .includes("server r0 127.0.0.1:9000 check"); // true
 * ```
 */
export function haproxyConfig(plan: BalancerPlan): string {
  const servers = plan.replicas.map(({ name, port }) => `  server ${name} ${HOST}:${port} check`);
  return `# Written by portico's bench/fleet.ts for one run.
global
  maxconn 4096
  stats socket ${plan.socket} mode 600 level admin
  stats timeout 30s

defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout check 2s
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout

frontend ${PROXY_NAMES.frontend}
  bind ${HOST}:${plan.port}
  default_backend ${PROXY_NAMES.backend}

backend ${PROXY_NAMES.backend}
  balance roundrobin
  option httpchk GET ${HEALTH_PATH}
  http-check expect status 200
  default-server inter ${CHECKS.interMs}ms fall ${CHECKS.fall} rise ${CHECKS.rise}
  http-response set-header ${REPLICA_HEADER} %s
${servers.join("\n")}
`;
}

/** One line of HAProxy's `show stat`: column name → value. */
export type StatRow = Readonly<Record<string, string>>;

/**
 * Parses the CSV that HAProxy's `show stat` prints: a header line starting
 * with `# `, then one line per frontend, server and backend.
 *
 * @param text The command's whole answer.
 * @returns The rows, each keyed by the header's column names.
 * @throws {SyntaxError} When the header line is missing.
 *
 * @example
 * ```ts
 * parseShowStat("# pxname,svname,status,\nreplicas,r0,UP,\n")[0].status; // "UP"
 * ```
 */
export function parseShowStat(text: string): StatRow[] {
  const lines = text.split("\n").map((line) => line.trim());
  const header = lines.findIndex((line) => line.startsWith("# "));
  if (header === -1) throw new SyntaxError("show stat printed no header line");
  const names = lines[header].slice(2).split(",");
  return lines.slice(header + 1).filter((line) => line !== "").map((line) => {
    const cells = line.split(",");
    return Object.fromEntries(names.map((name, i) => [name, cells[i] ?? ""]).filter(([n]) => n));
  });
}

/** Sends `show stat` to the stats socket and parses the answer. */
async function showStat(socket: string): Promise<StatRow[]> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  const timer = setTimeout(() => closeQuietly(conn), LIMITS_MS.stat);
  try {
    await conn.write(new TextEncoder().encode("show stat\n"));
    return parseShowStat(await new Response(conn.readable).text());
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** The states a restart waits for, as HAProxy's stats show them. */
const SERVER_STATES = {
  /** In rotation, after a check has passed. */
  up: (row: StatRow) => row.status === "UP" && row.check_status === "L7OK",
  /** Out of rotation. */
  down: (row: StatRow) => row.status.startsWith("DOWN"),
} as const;

/** A running HAProxy. */
interface Balancer {
  readonly child: Child;
  readonly port: number;
  readonly socket: string;
}

/** The row of one server of the backend, or of the frontend (`svname` FRONTEND). */
function statRow(rows: readonly StatRow[], proxy: string, server: string): StatRow | null {
  return rows.find((row) => row.pxname === proxy && row.svname === server) ?? null;
}

/** Waits until HAProxy shows the replica in `state`. */
async function waitForState(
  balancer: Balancer,
  name: string,
  state: keyof typeof SERVER_STATES,
  signal: AbortSignal,
): Promise<void> {
  await pollUntil(
    async () => {
      const row = statRow(await showStat(balancer.socket), PROXY_NAMES.backend, name);
      return row !== null && SERVER_STATES[state](row) ? true : null;
    },
    LIMITS_MS.state,
    `HAProxy showing ${name} ${state.toUpperCase()}`,
    signal,
    balancer.child.gone,
  );
}

/**
 * Starts HAProxy on a port found free by binding port 0; when another
 * process takes that port first, HAProxy cannot bind and it starts again on
 * another (three tries).
 */
async function startBalancer(
  haproxy: string,
  dir: string,
  replicas: readonly Replica[],
  children: Child[],
  signal: AbortSignal,
): Promise<Balancer> {
  const socket = join(dir, "haproxy.sock");
  const config = join(dir, "haproxy.cfg");
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    await Deno.writeTextFile(config, haproxyConfig({ port, socket, replicas }));
    const child = new Child("haproxy", haproxy, ["-f", config, "-db"]);
    children.push(child);
    try {
      await pollUntil(
        async () => statRow(await showStat(socket), PROXY_NAMES.frontend, "FRONTEND"),
        LIMITS_MS.start,
        "HAProxy's stats socket",
        signal,
        child.gone,
      );
      return { child, port, socket };
    } catch (error) {
      await child.stop();
      if (attempt === 3 || !/cannot bind|address already in use/i.test(child.lastWords)) {
        throw error;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// wrk

/** wrk's Lua script: the site's files in turn. */
function wrkScript(paths: readonly string[]): string {
  return `-- Written by portico's bench/fleet.ts: the site's files in turn.
local paths = { ${paths.map((path) => JSON.stringify(path)).join(", ")} }
local next_path = 0
request = function()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end
`;
}

/** What wrk's summary says. */
export interface WrkFigures {
  /** Completed requests. */
  readonly requests: number;
  /** How long it ran, seconds. */
  readonly seconds: number;
  /** Socket errors by kind. */
  readonly socketErrors: {
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly timeout: number;
  };
  /** Responses with a status outside 2xx and 3xx. */
  readonly badStatus: number;
  /** The 99th percentile of latency (with `--latency`), ms, or null. */
  readonly p99Ms: number | null;
}

/** Milliseconds per unit of wrk's latency figures. */
const LATENCY_UNITS = { us: 0.001, ms: 1, s: 1000, m: 60_000 } as const;

/**
 * Reads wrk's printed summary: the request count, the `Socket errors` line
 * and the `Non-2xx or 3xx responses` line (each absent when zero), and the
 * 99 % latency of `--latency`.
 *
 * @param text wrk's standard output.
 * @returns The figures.
 * @throws {SyntaxError} When there is no `N requests in T` line.
 *
 * @example
 * ```ts
 * parseWrkText("  500 requests in 2.00s, 1.00MB read\n  Non-2xx or 3xx responses: 3\n")
 *   .badStatus; // 3
 * ```
 */
export function parseWrkText(text: string): WrkFigures {
  const total = /^\s*([0-9]+) requests in ([0-9.]+)(us|ms|s|m),/m.exec(text);
  if (total === null) throw new SyntaxError("wrk printed no request count");
  const errors = /Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)/
    .exec(text);
  const bad = /Non-2xx or 3xx responses: ([0-9]+)/.exec(text);
  const p99 = /^\s*99%\s+([0-9.]+)(us|ms|s|m)\s*$/m.exec(text);
  const unit = (name: string) => LATENCY_UNITS[name as keyof typeof LATENCY_UNITS];
  const error = (i: number) => Number(errors?.[i] ?? 0);
  return {
    requests: Number(total[1]),
    seconds: Number(total[2]) * unit(total[3]) / 1000,
    socketErrors: { connect: error(1), read: error(2), write: error(3), timeout: error(4) },
    badStatus: Number(bad?.[1] ?? 0),
    p99Ms: p99 === null ? null : Number(p99[1]) * unit(p99[2]),
  };
}

/** Starts wrk against HAProxy for the run's duration. */
async function startWrk(
  wrk: string,
  dir: string,
  balancer: Balancer,
  durationS: number,
  children: Child[],
): Promise<Child> {
  const script = join(dir, "paths.lua");
  await Deno.writeTextFile(script, wrkScript(Object.keys(SITE_FILES).map((path) => `/${path}`)));
  const child = new Child("wrk", wrk, [
    `-t${LOAD.threads}`,
    `-c${LOAD.connections}`,
    `-d${durationS}s`,
    "--latency",
    "--timeout",
    "10s",
    "-s",
    script,
    `http://${HOST}:${balancer.port}/`,
  ]);
  children.push(child);
  return child;
}

/** Waits until HAProxy's frontend holds at least `count` client connections. */
async function waitForClients(balancer: Balancer, count: number, signal: AbortSignal) {
  await pollUntil(
    async () => {
      const row = statRow(await showStat(balancer.socket), PROXY_NAMES.frontend, "FRONTEND");
      return Number(row?.scur ?? 0) >= count ? true : null;
    },
    LIMITS_MS.state,
    `wrk's ${count} connections at HAProxy`,
    signal,
    balancer.child.gone,
  );
}

// ---------------------------------------------------------------------------
// The download

/** Where the download meets the restarts. */
interface Meeting {
  /** Resolved with the replica that serves the download, once its head has arrived. */
  readonly replica: PromiseWithResolvers<string>;
  /** Resolved once that replica has stopped accepting: the download reads on. */
  readonly resume: PromiseWithResolvers<void>;
}

/** How the download went. */
export interface Downloaded {
  /** Bytes received. */
  readonly bytes: number;
  /** Bytes expected. */
  readonly expected: number;
  /** Offset of the first byte that differs from the source, or null. */
  readonly firstDifference: number | null;
  /** The replica that served it, or null when no head arrived. */
  readonly replica: string | null;
  /** Whether that replica was still running when it stopped accepting. */
  readonly crossedRestart: boolean;
  /** Why it failed, or null. */
  readonly error: string | null;
}

/** Offset of the first byte of `chunk` (at `offset` of the download) that differs, or null. */
function firstDifference(chunk: Uint8Array, source: Uint8Array, offset: number): number | null {
  for (let i = 0; i < chunk.length; i++) {
    if (offset + i >= source.length || chunk[i] !== source[offset + i]) return offset + i;
  }
  return null;
}

/**
 * Downloads the big file through HAProxy and checks every byte; after
 * {@linkcode PAUSE_AT_BYTES} it waits for `meeting.resume`.
 */
async function download(
  url: string,
  source: Uint8Array,
  meeting: Meeting,
  signal: AbortSignal,
): Promise<Omit<Downloaded, "crossedRestart">> {
  let bytes = 0;
  let difference: number | null = null;
  let replica: string | null = null;
  try {
    const response = await fetch(url, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(LIMITS_MS.download)]),
    });
    replica = response.headers.get(REPLICA_HEADER);
    if (response.status !== 200 || response.body === null || replica === null) {
      await response.body?.cancel();
      throw new Error(`answered ${response.status} from ${replica ?? "no replica"}`);
    }
    meeting.replica.resolve(replica);
    let paused = false;
    for await (const chunk of response.body) {
      difference ??= firstDifference(chunk, source, bytes);
      bytes += chunk.length;
      if (!paused && bytes >= PAUSE_AT_BYTES) {
        paused = true;
        await meeting.resume.promise;
      }
    }
    return { bytes, expected: source.length, firstDifference: difference, replica, error: null };
  } catch (error) {
    meeting.replica.reject(error);
    const why = error instanceof Error ? error.message : String(error);
    return { bytes, expected: source.length, firstDifference: difference, replica, error: why };
  }
}

// ---------------------------------------------------------------------------
// The rolling restart

/** How one replica's restart went; times in ms from its SIGTERM, UP from its new start. */
export interface Restart {
  /** The replica. */
  readonly name: string;
  /** Until HAProxy showed it DOWN. */
  readonly outMs: number;
  /** Until the old process exited. */
  readonly exitMs: number;
  /** The old process's exit code. */
  readonly exitCode: number;
  /** From the new start until HAProxy showed it UP. */
  readonly upMs: number;
}

/** Waits until nothing accepts connections on the port any more. */
async function waitUntilRefused(port: number, signal: AbortSignal): Promise<void> {
  await pollUntil(
    async () => {
      try {
        closeQuietly(await Deno.connect({ hostname: HOST, port }));
        return null;
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionRefused) return true;
        throw error;
      }
    },
    LIMITS_MS.state,
    `port ${port} refusing connections`,
    signal,
  );
}

/**
 * Restarts one replica: SIGTERM; for the download's replica, waits until it
 * has stopped accepting, notes whether it still runs (the download still in
 * flight) and lets the download read on; then its exit, HAProxy showing it
 * DOWN, a fresh start on the same port and HAProxy showing it UP.
 */
async function restart(
  replica: Replica,
  balancer: Balancer,
  held: { meeting: Meeting; replica: string; crossed: boolean },
  children: Child[],
  signal: AbortSignal,
): Promise<Restart> {
  const stopped = performance.now();
  const since = () => Math.round(performance.now() - stopped);
  replica.child.kill("SIGTERM");
  const out = waitForState(balancer, replica.name, "down", signal).then(since);
  out.catch(() => {}); // Awaited below, after the exit.
  if (replica.name === held.replica) {
    await waitUntilRefused(replica.port, signal);
    held.crossed = replica.child.exit === null;
    held.meeting.resume.resolve();
  }
  const status = await withDeadline(
    replica.child.process.status,
    LIMITS_MS.exit,
    `${replica.name} exiting`,
    signal,
  );
  const exitMs = since();
  const outMs = await out;
  const started = performance.now();
  const fresh = await startReplica(replica.name, replica.root, replica.port, children, signal);
  replica.child = fresh.child;
  await waitForState(balancer, replica.name, "up", signal);
  const upMs = Math.round(performance.now() - started);
  return { name: replica.name, outMs, exitMs, exitCode: status.code, upMs };
}

/** The replicas in restart order: the download's first. */
function restartOrder(replicas: readonly Replica[], first: string): Replica[] {
  return [...replicas].sort((a, b) => Number(b.name === first) - Number(a.name === first));
}

// ---------------------------------------------------------------------------
// The ETag check

/** One file's validators from one replica. */
export interface Validators {
  /** `ETag`, or null when missing. */
  readonly etag: string | null;
  /** `Last-Modified`, or null when missing. */
  readonly lastModified: string | null;
}

/** What the ETag check found. */
export interface ValidatorCheck {
  /** Files checked. */
  readonly files: number;
  /** Files whose ETag is missing somewhere or differs between replicas. */
  readonly differing: readonly string[];
  /** Whether every file's Last-Modified differs between every two replicas. */
  readonly datesDiffer: boolean;
}

/**
 * Compares what the replicas sent for each file: the ETags must be present
 * and equal, and the Last-Modified dates all different (each replica's copy
 * has its own modification time, so equal ETags come from the content).
 *
 * @param seen For each file path, its validators from every replica.
 * @returns The verdict.
 *
 * @example
 * ```ts
 * const a = { etag: '"x"', lastModified: "Mon, 01 Jan 2024 00:00:00 GMT" };
 * const b = { etag: '"x"', lastModified: "Tue, 02 Jan 2024 00:00:00 GMT" };
 * compareValidators(new Map([["/a", [a, b]]])); // { files: 1, differing: [], datesDiffer: true }
 * ```
 */
export function compareValidators(
  seen: ReadonlyMap<string, readonly Validators[]>,
): ValidatorCheck {
  const differing: string[] = [];
  let datesDiffer = true;
  for (const [path, validators] of seen) {
    const etags = new Set(validators.map((v) => v.etag));
    if (etags.size !== 1 || etags.has(null)) differing.push(path);
    const dates = new Set(validators.map((v) => v.lastModified));
    if (dates.size !== validators.length || dates.has(null)) datesDiffer = false;
  }
  return { files: seen.size, differing, datesDiffer };
}

/** Asks every replica directly (HEAD) for every file's validators. */
async function readValidators(
  replicas: readonly Replica[],
  paths: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, Validators[]>> {
  const seen = new Map<string, Validators[]>();
  for (const path of paths) {
    seen.set(
      path,
      await Promise.all(replicas.map(async ({ port }) => {
        const response = await fetch(`http://${HOST}:${port}${path}`, {
          method: "HEAD",
          signal: AbortSignal.any([signal, AbortSignal.timeout(LIMITS_MS.request)]),
        });
        await response.body?.cancel();
        const headers = response.headers;
        return { etag: headers.get("etag"), lastModified: headers.get("last-modified") };
      })),
    );
  }
  return seen;
}

/**
 * The ETag check, asked again until the replicas agree or
 * {@linkcode LIMITS_MS}.state has passed: a file over 1 MiB carries a
 * provisional tag (size and modification time) until a replica has hashed
 * it in the background, which the first request starts.
 */
async function checkValidators(
  replicas: readonly Replica[],
  paths: readonly string[],
  signal: AbortSignal,
): Promise<{ readonly check: ValidatorCheck; readonly agreedMs: number }> {
  const started = performance.now();
  while (true) {
    const check = compareValidators(await readValidators(replicas, paths, signal));
    const agreedMs = Math.round(performance.now() - started);
    if (check.differing.length === 0 || agreedMs >= LIMITS_MS.state) return { check, agreedMs };
    if (signal.aborted) throw new Interrupted();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// ---------------------------------------------------------------------------
// The run

/** Everything a run measured. */
export interface FleetFigures {
  /** wrk's summary. */
  readonly load: WrkFigures;
  /** Whether wrk was still running when the last replica was UP again. */
  readonly loadCovered: boolean;
  /** HAProxy's retries and redispatches over the run. */
  readonly balancer: { readonly retries: number; readonly redispatches: number };
  /** The download. */
  readonly download: Downloaded;
  /** Each restart, in order. */
  readonly restarts: readonly Restart[];
  /** The ETag check. */
  readonly validators: ValidatorCheck;
  /** How long the replicas took to agree on every ETag, from the first ask. */
  readonly agreedMs: number;
}

/** The tools a run drives. */
interface Tools {
  readonly haproxy: string;
  readonly wrk: string;
}

/** Failed requests at the client: every socket error and every status outside 2xx and 3xx. */
function failedRequests(load: WrkFigures): number {
  const errors = load.socketErrors;
  return errors.connect + errors.read + errors.write + errors.timeout + load.badStatus;
}

/**
 * Why a run failed: one reason per broken promise, none for a pass.
 *
 * @param figures What the run measured.
 * @returns The reasons, empty when it passed.
 *
 * @example
 * ```ts
 * // With a run's figures, `verdict(figures).length === 0` means it passed.
 * ```
 */
export function verdict(figures: FleetFigures): string[] {
  const { load, download, restarts, validators } = figures;
  const reasons = [
    [failedRequests(load) > 0, `${failedRequests(load)} requests failed`],
    [load.requests === 0, "wrk completed no request"],
    [!figures.loadCovered, "the load ended before the last restart"],
    [download.error !== null, `the download failed: ${download.error}`],
    [download.bytes !== download.expected, `the download got ${download.bytes} bytes`],
    [download.firstDifference !== null, `the download differs at byte ${download.firstDifference}`],
    [!download.crossedRestart, "the download did not cross its replica's restart"],
    [restarts.some((r) => r.exitCode !== 0), "a replica exited with an error"],
    [validators.differing.length > 0, `ETags differ for ${validators.differing.join(", ")}`],
    [!validators.datesDiffer, "the replicas' copies do not have different dates"],
  ] as const;
  return reasons.filter(([broken]) => broken).map(([, reason]) => reason);
}

/** A column of the backend's totals row. */
function backendTotal(rows: readonly StatRow[], column: string): number {
  return rows.filter((row) => row.pxname === PROXY_NAMES.backend && row.svname === "BACKEND")
    .reduce((sum, row) => sum + Number(row[column] || 0), 0);
}

/** What every step of a run shares. */
interface Run {
  readonly options: FleetOptions;
  readonly tools: Tools;
  /** The temporary directory: site, configuration, stats socket. */
  readonly dir: string;
  /** Every process started, stopped at the end. */
  readonly children: Child[];
  /** Aborted by Ctrl-C or SIGTERM. */
  readonly signal: AbortSignal;
}

/** With everything started: the load, the download and the restarts, then the figures. */
async function underLoad(
  run: Run,
  site: Site,
  replicas: Replica[],
  balancer: Balancer,
): Promise<FleetFigures> {
  const { options, children, signal } = run;
  const wrk = await startWrk(run.tools.wrk, run.dir, balancer, options.durationS, children);
  const wrkDeadline = options.durationS * 1000 + LIMITS_MS.wrkOver;
  await waitForClients(balancer, LOAD.connections, signal);
  const meeting = {
    replica: Promise.withResolvers<string>(),
    resume: Promise.withResolvers<void>(),
  };
  const url = `http://${HOST}:${balancer.port}/${DOWNLOAD_PATH}`;
  const downloading = download(url, site.download, meeting, signal);
  try {
    const first = await withDeadline(meeting.replica.promise, LIMITS_MS.state, "download", signal);
    const held = { meeting, replica: first, crossed: false };
    const restarts: Restart[] = [];
    for (const replica of restartOrder(replicas, first)) {
      restarts.push(await restart(replica, balancer, held, children, signal));
    }
    const loadCovered = wrk.exit === null;
    const downloaded = { ...await downloading, crossedRestart: held.crossed };
    await withDeadline(wrk.process.status, wrkDeadline, "wrk", signal);
    const rows = await showStat(balancer.socket);
    const { check, agreedMs } = await checkValidators(replicas, site.paths, signal);
    return {
      load: parseWrkText(wrk.stdout),
      loadCovered,
      balancer: {
        retries: backendTotal(rows, "wretr"),
        redispatches: backendTotal(rows, "wredis"),
      },
      download: downloaded,
      restarts,
      validators: check,
      agreedMs,
    };
  } finally {
    meeting.resume.resolve();
  }
}

/** Runs the whole proof in a temporary directory; every process is stopped in the end. */
async function runFleet(
  options: FleetOptions,
  tools: Tools,
  signal: AbortSignal,
): Promise<FleetFigures> {
  const dir = await Deno.makeTempDir({ prefix: "portico_fleet_" });
  const run: Run = { options, tools, dir, children: [], signal };
  try {
    const site = await makeSite(dir, options.replicas, options.downloadMiB * MIB);
    const replicas = await startReplicas(site.roots, run.children, signal);
    const balancer = await startBalancer(tools.haproxy, dir, replicas, run.children, signal);
    for (const { name } of replicas) await waitForState(balancer, name, "up", signal);
    return await underLoad(run, site, replicas, balancer);
  } finally {
    await Promise.all(run.children.map((child) => child.stop()));
    await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------
// The report

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * The figures as printed, one line per subject and a last line `pass` or
 * `FAIL: reasons`.
 *
 * @param options The run's options.
 * @param figures What it measured.
 * @returns The report's lines.
 *
 * @example
 * ```ts
 * // formatReport(options, figures).join("\n") is what `deno task fleet` prints.
 * ```
 */
export function formatReport(options: FleetOptions, figures: FleetFigures): string[] {
  const { load, download, validators } = figures;
  const e = load.socketErrors;
  const rate = load.seconds > 0 ? Math.round(load.requests / load.seconds) : 0;
  const p99 = load.p99Ms === null ? "" : `, p99 ${load.p99Ms.toFixed(2)} ms`;
  const exact = download.firstDifference === null && download.bytes === download.expected;
  const reasons = verdict(figures);
  return [
    `fleet: ${options.replicas} replicas of portico behind HAProxy, wrk -t${LOAD.threads} ` +
    `-c${LOAD.connections} for ${options.durationS} s, a ${options.downloadMiB} MiB download`,
    `requests: ${load.requests} (${rate}/s${p99}), ${failedRequests(load)} failed ` +
    `(socket errors: connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ` +
    `${e.timeout}; non-2xx/3xx: ${load.badStatus})`,
    `HAProxy: ${figures.balancer.retries} retries, ${figures.balancer.redispatches} redispatches`,
    `download: ${download.bytes} of ${download.expected} bytes, ` +
    `${exact ? "byte-exact" : "NOT exact"}, from ${download.replica ?? "no replica"}` +
    (download.crossedRestart ? ", still sending after its replica stopped accepting" : "") +
    (download.error === null ? "" : ` (${download.error})`),
    ...figures.restarts.map((r) =>
      `restart ${r.name}: out of rotation after ${seconds(r.outMs)}, exited ${r.exitCode} ` +
      `after ${seconds(r.exitMs)}, UP ${seconds(r.upMs)} after its new start`
    ),
    `ETags: ${validators.differing.length === 0 ? "the same" : "DIFFERENT"} on every replica ` +
    `for ${validators.files} files (agreed after ${seconds(figures.agreedMs)}); Last-Modified ` +
    `${validators.datesDiffer ? "differs between replicas" : "does NOT differ"}`,
    reasons.length === 0 ? "pass" : `FAIL: ${reasons.join("; ")}`,
  ];
}

/** The exit code after each signal that ends a run early: 128 and the signal's number. */
const INTERRUPT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** The command: 0 pass, 1 fail, 2 usage or a missing tool, {@linkcode INTERRUPT_CODES}. */
async function main(args: readonly string[]): Promise<number> {
  let options: FleetOptions;
  try {
    options = parseFleetOptions(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`fleet: ${error.message}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const haproxy = which("haproxy");
  const wrk = which("wrk");
  if (haproxy === null || wrk === null) {
    console.error("fleet: needs haproxy and wrk (apt-get install -y haproxy wrk)");
    return 2;
  }
  const interrupt = new AbortController();
  let code = 0;
  const listeners = Object.entries(INTERRUPT_CODES).map(([name, exit]) => {
    const listener = () => {
      code ||= exit;
      interrupt.abort();
    };
    Deno.addSignalListener(name as Deno.Signal, listener);
    return [name as Deno.Signal, listener] as const;
  });
  try {
    const figures = await runFleet(options, { haproxy, wrk }, interrupt.signal);
    for (const line of formatReport(options, figures)) console.log(line);
    return code || (verdict(figures).length === 0 ? 0 : 1);
  } catch (error) {
    if (code !== 0) return code;
    console.error(`fleet: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
