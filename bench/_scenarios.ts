/**
 * What the benchmark compares: the servers, the wrk load scenarios (among
 * them portico with and without site rules, and HTTPS against nginx), the fairness scenarios
 * (`bench/fairness.mjs`), and the measurements that are not load runs
 * (resident memory, start-up time and content hashing).
 *
 * @module
 */

/** The servers, in table order. "base" is portico at another revision, run only with `--base`. */
export const SERVER_KEYS = [
  "ours",
  "base",
  "nginx",
  "python",
  "deno",
  "caddy",
  "bun",
  "serve",
  "http-server",
] as const;

/** One of {@linkcode SERVER_KEYS}. */
export type ServerKey = typeof SERVER_KEYS[number];

/** The servers that are portico: the working tree and the base revision. */
export const PORTICO: readonly ServerKey[] = ["ours", "base"];

/** How each server is named in the tables. */
export const SERVER_LABELS = {
  ours: "ours (portico)",
  base: "base (portico)",
  nginx: "nginx",
  python: "python http.server",
  deno: "Deno.serve file handler",
  caddy: "caddy file-server",
  bun: "Bun.serve file handler",
  serve: "serve (node)",
  "http-server": "http-server (node)",
} as const satisfies Record<ServerKey, string>;

/**
 * The site rules portico is started with (`--config` of a generated file):
 * redirects and header rules none of which matches the path requested, and
 * perhaps one header rule `/*` that matches every path.
 */
export interface RuleLoad {
  /** Redirect rules for other paths; every other one forced (looked at before the files). */
  readonly redirects: number;
  /** Header rules for other paths. */
  readonly headerRules: number;
  /** Whether a header rule `/*` sets a field on every response, taking them off the fast path. */
  readonly hitEveryPath: boolean;
}

/** One wrk load: which file, how many connections, what to report. */
export interface LoadScenario {
  /** The column's name, without the unit. */
  readonly label: string;
  /** The URL path requested. */
  readonly path: string;
  /** The headline number: requests per second, or gigabytes (10⁹ bytes) per second. */
  readonly metric: "rps" | "gbps";
  /** wrk `-t`. */
  readonly threads: number;
  /** wrk `-c`. */
  readonly connections: number;
  /** Whether the 99th-percentile latency and the error count are reported too. */
  readonly p99: boolean;
  /** An extra request header: `Connection: close`, or the server's own validator (a 304). */
  readonly header: "none" | "close" | "validator";
  /**
   * The `Accept-Encoding` sent, or null for none. A scenario with one is a
   * compressed scenario: bytes and server CPU time per response are reported too.
   */
  readonly acceptEncoding: string | null;
  /** Worker processes or threads of the server (portico `--workers`, nginx `worker_processes`). */
  readonly workers: number;
  /** The servers it compares. */
  readonly servers: readonly ServerKey[];
  /**
   * Whether the server runs on CPU 0 and wrk on CPU 1 (`taskset -c`); false
   * where the server has workers for both CPUs.
   */
  readonly pinned: boolean;
  /**
   * Open files allowed to wrk and the server (`ulimit -n` in a bash wrapper),
   * or null for the limit this process passes on.
   */
  readonly openFiles: number | null;
  /** Whether the server's peak resident memory during the run is reported. */
  readonly peakRss: boolean;
  /** The site rules portico is started with, or null for no configuration file. */
  readonly rules: RuleLoad | null;
  /** Whether the servers serve HTTPS, with the run's certificate, and wrk asks for https URLs. */
  readonly tls: boolean;
  /**
   * The scenario this one is compared with: both are measured in the same
   * rounds, their servers alternated as one set, and the report gives the
   * ratio of their requests per second. Null for none.
   */
  readonly baseline: LoadKey | null;
  /** The least ratio to the baseline the report calls met, or null for no goal. */
  readonly goal: number | null;
}

function load(
  label: string,
  path: string,
  metric: LoadScenario["metric"],
  more: Partial<LoadScenario> = {},
): LoadScenario {
  const base = {
    threads: 1,
    connections: 50,
    p99: false,
    header: "none",
    acceptEncoding: null,
    workers: 1,
    pinned: true,
    openFiles: null,
    peakRss: false,
    rules: null,
    tls: false,
    baseline: null,
    goal: null,
  } as const;
  return { label, path, metric, ...base, servers: BROAD, ...more };
}

/** The wrk scenarios' names in table order (object keys such as "304" would sort first). */
export const LOAD_KEYS = [
  "12b",
  "4k",
  "4k-gzip",
  "64k",
  "1m",
  "1m-js-gzip",
  "100m",
  "304",
  "1000conn",
  "10kconn",
  "close",
  "workers",
  "rules0",
  "rules200",
  "rules-hit",
  "tls-12b",
  "tls-4k",
  "tls-100m",
  "tls-close",
] as const;

/** One of the wrk scenarios. */
export type LoadKey = typeof LOAD_KEYS[number];

/** What the compressed scenarios accept, as a browser would (gzip first, to show it is not a preference). */
export const ACCEPT_COMPRESSED = "gzip, br";

/**
 * The servers that compress: python's http.server, the Deno.serve and Bun.serve
 * peers and http-server do not; caddy and serve would, but are left out (their
 * compression is not configured like nginx's, and their time is spent elsewhere).
 */
const COMPRESSING: readonly ServerKey[] = ["ours", "base", "nginx"];

/**
 * The servers of most scenarios. The other peers run only the scenarios in
 * {@linkcode EVERY_SERVER}'s: python's http.server, serve and http-server are
 * slow, and a default run must stay under 30 minutes.
 */
const BROAD: readonly ServerKey[] = ["ours", "base", "nginx", "deno"];

/** Every server: 12 B, 4 KiB and 1 MiB compare them all. */
const EVERY_SERVER: readonly ServerKey[] = SERVER_KEYS;

/**
 * The least ratio of requests per second with 250 rules that match nothing
 * to those without rules: within 10 %.
 */
export const RULES_GOAL = 0.9;

/** The servers of the HTTPS scenarios: portico against nginx with the same certificate. */
const HTTPS_SERVERS: readonly ServerKey[] = ["ours", "base", "nginx"];

/** The least ratio of portico's figure to nginx's in each HTTPS scenario: at least nginx's. */
export const HTTPS_GOAL = 1;

/** The wrk scenarios. */
export const LOAD_SCENARIOS: Readonly<Record<LoadKey, LoadScenario>> = {
  "12b": load("12 B", "/12b", "rps", { servers: EVERY_SERVER }),
  "4k": load("4 KiB", "/4k.html", "rps", { servers: EVERY_SERVER }),
  "4k-gzip": load("4 KiB compressed", "/4k.html", "rps", {
    acceptEncoding: ACCEPT_COMPRESSED,
    servers: COMPRESSING,
  }),
  "64k": load("64 KiB", "/64k.bin", "rps"),
  "1m": load("1 MiB", "/1m.bin", "gbps", { servers: EVERY_SERVER }),
  // Each response compresses 1 MiB afresh: a few connections keep the server busy.
  "1m-js-gzip": load("1 MiB JS compressed", "/1m.js", "rps", {
    connections: 8,
    acceptEncoding: ACCEPT_COMPRESSED,
    servers: COMPRESSING,
  }),
  "100m": load("100 MiB", "/100m.bin", "gbps", { connections: 4 }),
  "304": load("304", "/4k.html", "rps", { header: "validator" }),
  "1000conn": load("1,000 conn", "/4k.html", "rps", { connections: 1000, p99: true }),
  // One wrk thread (on its own CPU) drives all 10,000 connections; each side needs a descriptor
  // per connection, more than the usual soft limit of 1,024.
  "10kconn": load("10,000 conn", "/4k.html", "rps", {
    connections: 10_000,
    p99: true,
    openFiles: 65_536,
    peakRss: true,
    servers: ["ours", "base", "nginx"],
  }),
  close: load("Connection: close", "/12b", "rps", { header: "close" }),
  workers: load("2 workers", "/12b", "rps", {
    threads: 2,
    connections: 100,
    workers: 2,
    servers: ["ours", "base", "nginx"],
    pinned: false,
  }),
  // Portico against itself: the rules must cost next to nothing when none matches the path.
  rules0: load("12 B no rules", "/12b", "rps", { servers: ["ours"] }),
  rules200: load("12 B 250 rules", "/12b", "rps", {
    servers: ["ours"],
    rules: { redirects: 200, headerRules: 50, hitEveryPath: false },
    baseline: "rules0",
    goal: RULES_GOAL,
  }),
  "rules-hit": load("12 B rule hit", "/12b", "rps", {
    servers: ["ours"],
    rules: { redirects: 200, headerRules: 50, hitEveryPath: true },
    baseline: "rules0",
  }),
  // Over TLS: keep-alive rates and throughput are the record layer's cost; a new connection
  // per request (`Connection: close`) is a handshake each time, abbreviated when the server
  // resumes the session wrk offers (the one of its previous connection).
  "tls-12b": load("HTTPS 12 B", "/12b", "rps", { tls: true, servers: HTTPS_SERVERS }),
  "tls-4k": load("HTTPS 4 KiB", "/4k.html", "rps", { tls: true, servers: HTTPS_SERVERS }),
  "tls-100m": load("HTTPS 100 MiB", "/100m.bin", "gbps", {
    connections: 4,
    tls: true,
    servers: HTTPS_SERVERS,
  }),
  "tls-close": load("HTTPS Connection: close", "/12b", "rps", {
    header: "close",
    tls: true,
    servers: HTTPS_SERVERS,
  }),
};

/**
 * One fairness scenario: `bench/fairness.mjs` (Node.js) keeps this many
 * keep-alive connections busy, one GET at a time each, and counts the
 * requests each completes. Pinned as the wrk scenarios are: the server on
 * CPU 0, the generator on wrk's CPU. One short round, whatever `--rounds`,
 * `--duration` and `--warmup` say: a default run must stay under 30 minutes.
 */
export interface FairnessScenario {
  /** The row's name, without "fairness". */
  readonly label: string;
  /** The URL path requested. */
  readonly path: string;
  /** Keep-alive connections. */
  readonly connections: number;
  /** The measured window, whole seconds. */
  readonly durationS: number;
  /** The unrecorded warm-up before it, whole seconds. */
  readonly warmupS: number;
  /** Open files allowed to the generator and the server, as {@linkcode LoadScenario.openFiles}. */
  readonly openFiles: number | null;
  /** The servers it compares. */
  readonly servers: readonly ServerKey[];
}

/** The fairness scenarios' names in table order. */
export const FAIRNESS_KEYS = ["fair1000", "fair10k"] as const;

/** One of the fairness scenarios. */
export type FairnessKey = typeof FAIRNESS_KEYS[number];

/**
 * The fairness scenarios: the connections of the 1,000- and
 * 10,000-connection wrk scenarios, on the same file, for the same servers.
 */
export const FAIRNESS_SCENARIOS: Readonly<Record<FairnessKey, FairnessScenario>> = {
  fair1000: {
    label: "1,000 conn",
    path: "/4k.html",
    connections: 1000,
    durationS: 5,
    warmupS: 1,
    openFiles: null,
    servers: BROAD,
  },
  fair10k: {
    label: "10,000 conn",
    path: "/4k.html",
    connections: 10_000,
    durationS: 5,
    warmupS: 1,
    openFiles: LOAD_SCENARIOS["10kconn"].openFiles,
    servers: LOAD_SCENARIOS["10kconn"].servers,
  },
};

/** Every fairness scenario with `--smoke`: proof for CI that the generator works, no figure. */
export const FAIRNESS_SMOKE: Pick<FairnessScenario, "connections" | "durationS" | "warmupS"> = {
  connections: 20,
  durationS: 1,
  warmupS: 0,
};

/**
 * Everything `--scenarios` can select, in table order: the wrk scenarios,
 * the fairness scenarios, memory, start-up, and content hashing (portico's
 * code in-process, no load).
 */
export const SCENARIO_KEYS = [...LOAD_KEYS, ...FAIRNESS_KEYS, "rss", "startup", "hash"] as const;

/** One of {@linkcode SCENARIO_KEYS}. */
export type ScenarioKey = typeof SCENARIO_KEYS[number];

/**
 * Whether a selectable name is a wrk scenario.
 *
 * @param key A name from {@linkcode SCENARIO_KEYS}.
 * @returns True for the wrk scenarios, false for fairness, memory, start-up and hashing.
 *
 * @example
 * ```ts
 * isLoadKey("12b"); // true
 * isLoadKey("rss"); // false
 * ```
 */
export function isLoadKey(key: ScenarioKey): key is LoadKey {
  return (LOAD_KEYS as readonly string[]).includes(key);
}

/**
 * Whether a selectable name is a fairness scenario.
 *
 * @param key A name from {@linkcode SCENARIO_KEYS}.
 * @returns True for the fairness scenarios.
 *
 * @example
 * ```ts
 * isFairnessKey("fair1000"); // true
 * isFairnessKey("1000conn"); // false
 * ```
 */
export function isFairnessKey(key: ScenarioKey): key is FairnessKey {
  return (FAIRNESS_KEYS as readonly string[]).includes(key);
}

/** Keep-alive connections held open for the loaded memory reading. */
export const HELD_CONNECTIONS = 1000;

/** Timed start-ups of each portico server. */
export const STARTUP_SAMPLES = 5;

/** Samples of each hashing timing. */
export const HASH_SAMPLES = 3;
