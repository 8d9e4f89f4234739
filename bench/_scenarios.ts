/**
 * What the benchmark compares: the servers, the wrk load scenarios and the
 * two measurements that are not wrk runs (memory and start-up time).
 *
 * @module
 */

/** The servers, in table order. */
export const SERVER_KEYS = ["ours", "nginx", "python", "deno"] as const;

/** One of {@linkcode SERVER_KEYS}. */
export type ServerKey = typeof SERVER_KEYS[number];

/** How each server is named in the tables. */
export const SERVER_LABELS = {
  ours: "ours (portico)",
  nginx: "nginx",
  python: "python http.server",
  deno: "Deno.serve file handler",
} as const satisfies Record<ServerKey, string>;

/** What a load scenario reports: requests per second, or gigabytes (10⁹ bytes) per second. */
export type Metric = "rps" | "gbps";

/** One wrk load: which file, how many connections, what to report. */
export interface LoadScenario {
  /** The column's name, without the unit. */
  readonly label: string;
  /** The URL path requested. */
  readonly path: string;
  /** wrk `-t`. */
  readonly threads: number;
  /** wrk `-c`. */
  readonly connections: number;
  /** The headline number. */
  readonly metric: Metric;
  /** Whether the 99th-percentile latency and the error count are reported too. */
  readonly p99: boolean;
  /** An extra request header: `Connection: close`, or `If-None-Match` with the server's ETag. */
  readonly header: "none" | "close" | "etag";
  /** Worker processes or threads of the server (ours `--workers`, nginx `worker_processes`). */
  readonly workers: number;
  /** The servers this scenario compares. */
  readonly servers: readonly ServerKey[];
}

const ALL: readonly ServerKey[] = SERVER_KEYS;

/**
 * The wrk scenarios' names, in table order (an explicit list: object keys
 * that look like integers, such as "304", would otherwise come first).
 */
export const LOAD_KEYS = [
  "12b",
  "4k",
  "64k",
  "1m",
  "100m",
  "304",
  "1000conn",
  "close",
  "workers",
] as const;

/** One of the wrk scenarios. */
export type LoadKey = typeof LOAD_KEYS[number];

/** The wrk scenarios. */
export const LOAD_SCENARIOS: Readonly<Record<LoadKey, LoadScenario>> = {
  "12b": {
    label: "12 B",
    path: "/12b",
    threads: 1,
    connections: 50,
    metric: "rps",
    p99: false,
    header: "none",
    workers: 1,
    servers: ALL,
  },
  "4k": {
    label: "4 KiB",
    path: "/4k.html",
    threads: 1,
    connections: 50,
    metric: "rps",
    p99: false,
    header: "none",
    workers: 1,
    servers: ALL,
  },
  "64k": {
    label: "64 KiB",
    path: "/64k.bin",
    threads: 1,
    connections: 50,
    metric: "rps",
    p99: false,
    header: "none",
    workers: 1,
    servers: ALL,
  },
  "1m": {
    label: "1 MiB",
    path: "/1m.bin",
    threads: 1,
    connections: 50,
    metric: "gbps",
    p99: false,
    header: "none",
    workers: 1,
    servers: ALL,
  },
  "100m": {
    label: "100 MiB",
    path: "/100m.bin",
    threads: 1,
    connections: 4,
    metric: "gbps",
    p99: false,
    header: "none",
    workers: 1,
    servers: ALL,
  },
  "304": {
    label: "304",
    path: "/4k.html",
    threads: 1,
    connections: 50,
    metric: "rps",
    p99: false,
    header: "etag",
    workers: 1,
    servers: ALL,
  },
  "1000conn": {
    label: "1,000 conn",
    path: "/4k.html",
    threads: 1,
    connections: 1000,
    metric: "rps",
    p99: true,
    header: "none",
    workers: 1,
    servers: ALL,
  },
  close: {
    label: "Connection: close",
    path: "/12b",
    threads: 1,
    connections: 50,
    metric: "rps",
    p99: false,
    header: "close",
    workers: 1,
    servers: ALL,
  },
  workers: {
    label: "2 workers",
    path: "/12b",
    threads: 2,
    connections: 100,
    metric: "rps",
    p99: false,
    header: "none",
    workers: 2,
    servers: ["ours", "nginx"],
  },
};

/** The measurements that are not wrk runs: resident memory, and ours' start-up time. */
export const MEASUREMENT_KEYS = ["rss", "startup"] as const;

/** One of {@linkcode MEASUREMENT_KEYS}. */
export type MeasurementKey = typeof MEASUREMENT_KEYS[number];

/** Everything `--scenarios` can select, in table order. */
export const SCENARIO_KEYS = [
  ...LOAD_KEYS,
  ...MEASUREMENT_KEYS,
] as const;

/** One of {@linkcode SCENARIO_KEYS}. */
export type ScenarioKey = LoadKey | MeasurementKey;

/**
 * Whether a selectable name is a wrk scenario.
 *
 * @param key A name from {@linkcode SCENARIO_KEYS}.
 * @returns True for wrk scenarios, false for the measurements.
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
 * Whether a wrk scenario compares a server (the workers scenario has only two).
 *
 * @example
 * ```ts
 * compares("workers", "python"); // false
 * ```
 */
export function compares(key: LoadKey, server: ServerKey): boolean {
  return LOAD_SCENARIOS[key].servers.includes(server);
}

/** Keep-alive connections held open for the loaded memory measurement. */
export const HELD_CONNECTIONS = 1000;

/** Start-ups of ours timed for the start-up measurement. */
export const STARTUP_SAMPLES = 5;
