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
import { firstLine, type Logger } from "./log.ts";
import type { SiteRules } from "./site/types.ts";

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
  /** Development mode (live reload, nothing cached), or null when it is off. */
  readonly dev: LiveOptions | null;
  /** The site's rules, as the main thread read and checked them. */
  readonly rules: SiteRules;
}

/** Messages from the main thread to a worker. */
export type ToWorker =
  | { readonly kind: "start"; readonly config: WorkerConfig }
  /** New rules for new requests; answered with `reloaded`. */
  | { readonly kind: "reload"; readonly rules: SiteRules }
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
  config: Pick<WorkerConfig, "hostname" | "port">,
  readable: readonly string[],
  ioEvents = true,
): WorkerPermissions {
  return {
    read: [...new Set(readable)],
    net: [authority({ transport: "tcp", hostname: config.hostname, port: config.port })],
    env: ioEvents ? [IO_EVENTS_VARIABLE] : false,
    run: false,
    write: false,
    ffi: false,
    sys: false,
    import: false,
  };
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
): Promise<WorkerPool> {
  const workers: Worker[] = [];
  const died = Promise.withResolvers<number>();
  let stopping = false;
  const ioEvents = setWorkerIoEvents(config.tuning.ioEventsPerTick);
  let ioEventsPerTick: string | null = null;
  const launch = async (port: number): Promise<Deno.NetAddr> => {
    const own: WorkerConfig = { ...config, port, reusePort: count > 1 };
    const worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      name: `${SERVER_NAME} worker ${workers.length + 1}`,
      deno: { permissions: workerPermissions(own, readable, ioEvents) },
    });
    workers.push(worker);
    const { addr, ioEventsPerTick: seen } = await started(worker, own);
    if (workers.length === 1) ioEventsPerTick = seen;
    // From here on, a worker that dies takes the server down with exit code
    // 1, for a process manager to restart: its share of the connections
    // would otherwise be lost without a word.
    worker.onerror = (event) => {
      event.preventDefault();
      if (stopping) return;
      logger.error(`worker ${workers.indexOf(worker) + 1} stopped: ${firstLine(event.message)}`);
      died.resolve(1);
    };
    return addr;
  };

  let addr: Deno.NetAddr;
  try {
    addr = await launch(config.port);
    for (let i = 1; i < count; i++) await launch(addr.port);
  } catch (error) {
    for (const worker of workers) worker.terminate();
    throw error;
  }

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping = true;
    stopped ??= Promise.all(workers.map((worker) => stopWorker(worker, config.limits)))
      .then(() => died.resolve(0));
    return stopped;
  };
  const finished = died.promise.then((code) => {
    stopping = true;
    for (const worker of workers) worker.terminate();
    return code;
  });
  const reload = async (rules: SiteRules): Promise<string | null> => {
    const gone = finished.then(() => "the server is stopping");
    const answers = workers.map((worker) => Promise.race([reloadWorker(worker, rules), gone]));
    return (await Promise.all(answers)).find((error) => error !== null) ?? null;
  };
  return { addr, ioEventsPerTick, finished, stop, reload };
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
function stopWorker(worker: Worker, limits: Pick<Limits, "shutdownTimeoutMs">): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const timer = setTimeout(resolve, limits.shutdownTimeoutMs + STOP_GRACE_MS);
  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    if (event.data.kind === "stopped") resolve();
  };
  worker.postMessage({ kind: "stop" } satisfies ToWorker);
  return promise.finally(() => {
    clearTimeout(timer);
    worker.terminate();
  });
}
