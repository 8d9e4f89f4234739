/**
 * The main thread's side of the command line: it starts the workers that
 * serve (see `worker.ts`), each confined to the permissions it needs, waits
 * until they listen, and stops them. It never touches a connection.
 *
 * @module
 */

import { authority } from "./address.ts";
import {
  type Content,
  IO_EVENTS_VARIABLE,
  type Limits,
  SERVER_NAME,
  type Tuning,
} from "./config.ts";
import type { LiveOptions } from "./dev/site.ts";
import { UserError } from "./errors.ts";
import { firstLine, type LogFormat, type Logger } from "./log.ts";
import { mergeSnapshots, type MetricsSnapshot, serverMetrics } from "./metrics.ts";
import { DEFAULT_RESTART_LIMITS, type RestartLimits, RestartPolicy } from "./restart_policy.ts";
import type { SiteRules } from "./site/types.ts";
import type { TlsCertificate } from "./tls.ts";

/** What a worker needs to serve. */
export interface WorkerConfig {
  /** The document root (absolute), or null for an application alone. */
  readonly root: string | null;
  /** The application module (absolute path), or null for files alone. */
  readonly app: string | null;
  /** The application as the user named it, for messages. */
  readonly appName: string | null;
  /** The address to listen on. */
  readonly hostname: string;
  /** The port; 0 only for the first of several workers. */
  readonly port: number;
  /** Share the port with the other workers. */
  readonly reusePort: boolean;
  /** Limits and timeouts. */
  readonly limits: Readonly<Limits>;
  /** The hot-file cache and the file buffers. */
  readonly tuning: Readonly<Tuning>;
  /** Compression and `Cache-Control`. */
  readonly content: Readonly<Content>;
  /** No access log. */
  readonly quiet: boolean;
  /** The access log's format; `text` when absent. */
  readonly logFormat?: LogFormat;
  /** Send each request's id as `X-Request-Id`; off when absent. */
  readonly requestIdHeader?: boolean;
  /** Development mode (live reload, nothing cached), or null when it is off. */
  readonly dev: LiveOptions | null;
  /** The site's rules, as the main thread read and checked them. */
  readonly rules: SiteRules;
  /** The health endpoint's path, or null for none. */
  readonly health: string | null;
  /** The proxies that send a PROXY protocol header (`--proxy-protocol`), or null. */
  readonly proxyProtocol: string | null;
  /** The proxies whose forwarding fields are believed (`--trust-proxy`), or null. */
  readonly trustProxy: string | null;
  /** The certificate to serve HTTPS with, or null for plain HTTP. */
  readonly tls: TlsCertificate | null;
  /** Fields every response carries (`Strict-Transport-Security`). */
  readonly fields: readonly (readonly [string, string])[];
}

/** Messages from the main thread to a worker. */
export type ToWorker =
  | { readonly kind: "start"; readonly config: WorkerConfig }
  /** New rules for new requests; answered with `reloaded`. */
  | { readonly kind: "reload"; readonly rules: SiteRules }
  /** Asks for the worker's metrics; answered with `metrics`. */
  | { readonly kind: "metrics" }
  /** A new certificate for new connections; answered with `certificate-set`. */
  | { readonly kind: "certificate"; readonly tls: TlsCertificate }
  | { readonly kind: "stop" };

/** Messages from a worker to the main thread. */
export type FromWorker =
  | {
    readonly kind: "listening";
    readonly hostname: string;
    readonly port: number;
    /** The I/O batch its runtime was built with, as the worker sees the variable. */
    readonly ioEventsPerTick: string | null;
  }
  | { readonly kind: "failed"; readonly message: string; readonly exitCode: number }
  /** The rules of a `reload` serve new requests, or why they could not (the old ones stay). */
  | { readonly kind: "reloaded"; readonly error: string | null }
  /** The new certificate serves new connections, or why the old one stays. */
  | { readonly kind: "certificate-set"; readonly error: string | null }
  /** The worker's metrics, as asked. */
  | { readonly kind: "metrics"; readonly snapshot: MetricsSnapshot }
  /** The worker is ending itself (`Deno.exit`, `close()` from the code it runs). */
  | { readonly kind: "exiting"; readonly code: number | null }
  | { readonly kind: "stopped" };

/** The permissions a serving worker gets. */
export interface WorkerPermissions {
  /** Paths it may read. */
  readonly read: string[];
  /** The one address it may listen on. */
  readonly net: string[];
  /** The one variable it may read, the I/O batch its runtime was built with, when the main thread may. */
  readonly env: string[] | false;
  readonly run: false;
  readonly write: false;
  readonly ffi: false;
  readonly sys: false;
  readonly import: false;
}

/**
 * Sets the I/O batch for the runtimes started from now on (each worker
 * builds its own when it starts).
 *
 * @param events The batch (`Tuning.ioEventsPerTick`).
 * @returns False when the process may not set the variable (no `--allow-env` for it).
 *
 * @example
 * ```ts
 * setWorkerIoEvents(64); // true under `deno task serve`
 * ```
 */
export function setWorkerIoEvents(events: number): boolean {
  try {
    Deno.env.set(IO_EVENTS_VARIABLE, String(events));
    return true;
  } catch {
    return false;
  }
}

/**
 * The sandbox of a serving worker: read the given paths (the root and the
 * application's folder), listen on its address, read the one variable its
 * runtime was built with (when the main thread may: a worker cannot be
 * given more than its parent has), and nothing else.
 *
 * @param config What the worker serves.
 * @param readable The paths it must read.
 * @param ioEvents Whether it may read {@linkcode IO_EVENTS_VARIABLE}.
 * @returns Permissions for `new Worker(..., { deno: { permissions } })`.
 *
 * @example
 * ```ts
 * workerPermissions({ hostname: "0.0.0.0", port: 8000 }, ["/srv/www"]);
 * // { read: ["/srv/www"], net: ["0.0.0.0:8000"], env: [IO_EVENTS_VARIABLE], run: false, ... }
 * ```
 */
export function workerPermissions(
  config: Pick<WorkerConfig, "hostname" | "port"> & { readonly tls?: TlsCertificate | null },
  readable: readonly string[],
  ioEvents = true,
): WorkerPermissions {
  return {
    read: [...new Set(readable)],
    net: [listenPermission(config)],
    env: ioEvents ? [IO_EVENTS_VARIABLE] : false,
    run: false,
    write: false,
    ffi: false,
    sys: false,
    import: false,
  };
}

/**
 * The one address a worker may listen on. Over HTTPS with port 0, the
 * port the system picks cannot be named in advance, yet a listener that
 * replaces another (for a new certificate) binds it again: the host is then
 * allowed on any port.
 */
function listenPermission(
  config: Pick<WorkerConfig, "hostname" | "port"> & { readonly tls?: TlsCertificate | null },
): string {
  const address = authority({ transport: "tcp", hostname: config.hostname, port: config.port });
  const anyPort = config.port === 0 && (config.tls ?? null) !== null;
  return anyPort ? address.slice(0, address.lastIndexOf(":")) : address;
}

/** Workers serving one address. */
export interface WorkerPool {
  /** The address they listen on (with the port the system picked for port 0). */
  readonly addr: Deno.NetAddr;
  /** The I/O batch the first worker's runtime was built with, as it reports it (null: Deno's default). */
  readonly ioEventsPerTick: string | null;
  /**
   * Resolves when every worker has stopped: after {@linkcode WorkerPool.stop},
   * or with the exit code 1 when a worker died.
   */
  readonly finished: Promise<number>;
  /** Asks every worker to shut down gracefully and resolves when they have. */
  stop(): Promise<void>;
  /**
   * Hands every worker new rules for new requests (requests in progress
   * finish with the old ones); resolves with the first worker's complaint,
   * or null when all switched.
   */
  reload(rules: SiteRules): Promise<string | null>;
  /**
   * Every running worker's metrics merged, with the pool's own (worker
   * restarts); a worker that does not answer within a second is left out.
   */
  metrics(): Promise<MetricsSnapshot>;
  /** Whether a stop has begun. */
  readonly draining: boolean;
  /**
   * Hands every worker a new certificate for new connections (those in
   * progress go on); resolves with the first complaint, or null.
   */
  setCertificate(tls: TlsCertificate): Promise<string | null>;
}

/** How much longer than its own shutdown deadline a worker gets before it is terminated. */
const STOP_GRACE_MS = 2000;

/**
 * Starts `count` workers on one address. The first binds (and picks the port
 * when it is 0); the others then join it with `reusePort`.
 *
 * @param config What to serve and where; `reusePort` is decided here.
 * @param readable The paths the workers may read.
 * @param count How many workers.
 * @param logger Where a worker's death is reported.
 * @returns The running workers.
 * @throws {UserError} When a worker cannot start (every started one is stopped).
 */
export async function startWorkers(
  config: Omit<WorkerConfig, "reusePort">,
  readable: readonly string[],
  count: number,
  logger: Logger,
  restarts: RestartLimits = DEFAULT_RESTART_LIMITS,
): Promise<WorkerPool> {
  const pool = new Pool(config, readable, count, logger, restarts);
  await pool.start();
  return pool;
}

/**
 * The workers of {@linkcode startWorkers}: each slot holds a running worker,
 * or null while one that died waits to be started again.
 */
class Pool implements WorkerPool {
  addr: Deno.NetAddr = { transport: "tcp", hostname: "", port: 0 };
  ioEventsPerTick: string | null = null;
  readonly finished: Promise<number>;
  /** Workers started again after one died. */
  restarts = 0;
  readonly #config: Omit<WorkerConfig, "reusePort">;
  readonly #readable: readonly string[];
  readonly #slots: (Worker | null)[];
  readonly #logger: Logger;
  readonly #policy: RestartPolicy;
  readonly #ended = Promise.withResolvers<number>();
  readonly #ioEvents: boolean;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #rules: SiteRules;
  #tls: TlsCertificate | null;
  /** Each slot's last metrics, for a scrape the worker does not answer in time. */
  readonly #lastSnapshots: (MetricsSnapshot | null)[];
  /** The counters of workers that died, so that totals never go back. */
  readonly #retired: MetricsSnapshot[] = [];
  #stopping = false;
  #stopped: Promise<void> | null = null;

  constructor(
    config: Omit<WorkerConfig, "reusePort">,
    readable: readonly string[],
    count: number,
    logger: Logger,
    restarts: RestartLimits,
  ) {
    this.#config = config;
    this.#readable = readable;
    this.#slots = new Array(count).fill(null);
    this.#lastSnapshots = new Array(count).fill(null);
    this.#logger = logger;
    this.#policy = new RestartPolicy(restarts);
    this.#rules = config.rules;
    this.#tls = config.tls;
    this.#ioEvents = setWorkerIoEvents(config.tuning.ioEventsPerTick);
    this.finished = this.#ended.promise.then((code) => {
      this.#stopping = true;
      for (const timer of this.#timers) clearTimeout(timer);
      for (const worker of this.#slots) worker?.terminate();
      return code;
    });
  }

  /** Starts every worker; the first binds (and picks the port for port 0), the others join. */
  async start(): Promise<void> {
    try {
      this.addr = await this.#launch(0, this.#config.port);
      for (let i = 1; i < this.#slots.length; i++) await this.#launch(i, this.addr.port);
    } catch (error) {
      for (const worker of this.#slots) worker?.terminate();
      throw error;
    }
  }

  stop(): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#timers) clearTimeout(timer);
    const running = this.#slots.filter((worker) => worker !== null);
    this.#stopped ??= Promise.all(running.map((worker) => stopWorker(worker, this.#config.limits)))
      .then(() => this.#ended.resolve(0));
    return this.#stopped;
  }

  get draining(): boolean {
    return this.#stopping;
  }

  async setCertificate(tls: TlsCertificate): Promise<string | null> {
    // The same pair again (a reload that did not renew it): no listener is replaced.
    if (this.#tls !== null && this.#tls.cert === tls.cert && this.#tls.key === tls.key) return null;
    const gone = this.finished.then(() => "the server is stopping");
    const answers = this.#slots.filter((worker) => worker !== null)
      .map((worker) => Promise.race([certificateSet(worker, tls), gone]));
    const refused = (await Promise.all(answers)).find((error) => error !== null) ?? null;
    // A worker started from now on gets what the running ones serve.
    if (refused === null) this.#tls = tls;
    return refused;
  }

  async metrics(): Promise<MetricsSnapshot> {
    const own = serverMetrics();
    own.workerRestarts.inc(this.restarts);
    const answers = await Promise.all(this.#slots.map(async (worker, slot) => {
      const snapshot = worker === null ? null : await workerMetrics(worker);
      // A worker that does not answer counts with what it said last.
      if (snapshot !== null) this.#lastSnapshots[slot] = snapshot;
      return this.#lastSnapshots[slot];
    }));
    const snapshots = answers.filter((snapshot) => snapshot !== null);
    return mergeSnapshots([own.registry.snapshot(), ...this.#retired, ...snapshots]);
  }

  async reload(rules: SiteRules): Promise<string | null> {
    const gone = this.finished.then(() => "the server is stopping");
    const answers = this.#slots.filter((worker) => worker !== null)
      .map((worker) => Promise.race([reloadWorker(worker, rules), gone]));
    const refused = (await Promise.all(answers)).find((error) => error !== null) ?? null;
    if (refused === null) this.#rules = rules;
    return refused;
  }

  /** Starts the worker of a slot and waits until it listens. */
  async #launch(slot: number, port: number): Promise<Deno.NetAddr> {
    const own: WorkerConfig = {
      ...this.#config,
      rules: this.#rules,
      tls: this.#tls,
      port,
      reusePort: this.#slots.length > 1,
    };
    const worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      name: `${SERVER_NAME} worker ${slot + 1}`,
      deno: { permissions: workerPermissions(own, this.#readable, this.#ioEvents) },
    });
    this.#slots[slot] = worker;
    const { addr, ioEventsPerTick } = await started(worker, own);
    if (slot === 0) this.ioEventsPerTick ??= ioEventsPerTick;
    // From here on a worker that dies, by an uncaught error or by ending
    // itself, is started again; its connections are lost, the others serve on.
    worker.onerror = (event) => {
      event.preventDefault();
      this.#died(slot, worker, firstLine(event.message));
    };
    worker.addEventListener("message", (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.kind === "exiting") this.#died(slot, worker, exitReason(message.code));
    });
    return addr;
  }

  /** A worker died: start it again after the policy's delay, or end the program. */
  #died(slot: number, worker: Worker, why: string): void {
    if (this.#stopping || this.#slots[slot] !== worker) return;
    worker.terminate();
    this.#slots[slot] = null;
    const last = this.#lastSnapshots[slot];
    if (last !== null) this.#retired.push(countersOf(last));
    this.#lastSnapshots[slot] = null;
    const decision = this.#policy.died(performance.now());
    if (decision.kind === "give-up") {
      this.#logger.error(
        `worker ${slot + 1} stopped: ${why}; ${decision.deaths} workers stopped within ` +
          `${this.#policy.windowSeconds} s, giving up`,
      );
      this.#ended.resolve(1);
      return;
    }
    this.#logger.error(
      `worker ${slot + 1} stopped: ${why}; starting it again in ${decision.delayMs} ms`,
    );
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#relaunch(slot, why);
    }, decision.delayMs);
    this.#timers.add(timer);
  }

  /** Starts a slot's worker again; a failure to start counts as another death. */
  async #relaunch(slot: number, why: string): Promise<void> {
    if (this.#stopping) return;
    try {
      await this.#launch(slot, this.addr.port);
      this.restarts++;
      this.#logger.error(`worker ${slot + 1} started again`);
    } catch (error) {
      const worker = this.#slots[slot];
      const reason = error instanceof Error ? firstLine(error.message) : why;
      if (worker !== null) this.#died(slot, worker, `cannot start again: ${reason}`);
    }
  }
}

/** A snapshot's counters and histograms, without the gauges a dead worker no longer holds. */
function countersOf(snapshot: MetricsSnapshot): MetricsSnapshot {
  return { ...snapshot, families: snapshot.families.filter((family) => family.kind !== "gauge") };
}

/** How a worker that ended itself is described. */
function exitReason(code: number | null): string {
  return code === null ? "it closed itself" : `it exited with code ${code}`;
}

/** How long a worker gets to send its metrics. */
const METRICS_DEADLINE_MS = 1000;

/** Asks a worker for its metrics; null when it does not answer in time. */
function workerMetrics(worker: Worker): Promise<MetricsSnapshot | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(null), METRICS_DEADLINE_MS);
    const listener = (event: MessageEvent<FromWorker>) => {
      if (event.data.kind === "metrics") done(event.data.snapshot);
    };
    const done = (snapshot: MetricsSnapshot | null) => {
      clearTimeout(timer);
      worker.removeEventListener("message", listener);
      resolve(snapshot);
    };
    worker.addEventListener("message", listener);
    worker.postMessage({ kind: "metrics" } satisfies ToWorker);
  });
}

/** Sends a worker a new certificate and waits for its answer: null, or why it kept the old one. */
function certificateSet(worker: Worker, tls: TlsCertificate): Promise<string | null> {
  return new Promise((resolve) => {
    const listener = (event: MessageEvent<FromWorker>) => {
      if (event.data.kind !== "certificate-set") return;
      worker.removeEventListener("message", listener);
      resolve(event.data.error);
    };
    worker.addEventListener("message", listener);
    worker.postMessage({ kind: "certificate", tls } satisfies ToWorker);
  });
}

/** Sends a worker new rules and waits for its answer: null, or why it kept the old ones. */
function reloadWorker(worker: Worker, rules: SiteRules): Promise<string | null> {
  return new Promise((resolve) => {
    const listener = (event: MessageEvent<FromWorker>) => {
      if (event.data.kind !== "reloaded") return;
      worker.removeEventListener("message", listener);
      resolve(event.data.error);
    };
    worker.addEventListener("message", listener);
    worker.postMessage({ kind: "reload", rules } satisfies ToWorker);
  });
}

/** Sends the configuration and waits until the worker listens (its address and I/O batch) or fails. */
function started(
  worker: Worker,
  config: WorkerConfig,
): Promise<{ addr: Deno.NetAddr; ioEventsPerTick: string | null }> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.kind === "listening") {
        const addr = { transport: "tcp" as const, hostname: message.hostname, port: message.port };
        resolve({ addr, ioEventsPerTick: message.ioEventsPerTick });
      } else if (message.kind === "failed") {
        reject(new UserError(message.message, message.exitCode));
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new UserError(`cannot start: ${firstLine(event.message)}`, 1));
    };
    worker.postMessage({ kind: "start", config } satisfies ToWorker);
  });
}

/**
 * Asks a worker to shut down and waits for it to say so, or terminates it
 * once its deadline (and a little more) has passed.
 */
function stopWorker(
  worker: Worker,
  limits: Pick<Limits, "shutdownTimeoutMs" | "drainDelayMs">,
): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const timer = setTimeout(
    resolve,
    limits.drainDelayMs + limits.shutdownTimeoutMs + STOP_GRACE_MS,
  );
  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    if (event.data.kind === "stopped") resolve();
  };
  worker.postMessage({ kind: "stop" } satisfies ToWorker);
  return promise.finally(() => {
    clearTimeout(timer);
    worker.terminate();
  });
}
