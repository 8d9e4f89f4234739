/**
 * The serving side of the command line, run in a Worker started by
 * `supervisor.ts` with only the permissions to read the root (and the
 * application's folder) and to listen on the address: the connection loop,
 * the static layer and the application all run here, so a mistake in any of
 * them cannot reach other files, the environment, or other programs.
 *
 * @module
 */

import { loadApp } from "./app.ts";
import { IO_EVENTS_VARIABLE, SERVER_NAME } from "./config.ts";
import { UserError } from "./errors.ts";
import { type Site, site, switchableSite } from "./gateway.ts";
import { explainListenError } from "./listen_error.ts";
import { consoleLogger, describeError, type Logger } from "./log.ts";
import { type MetricsSnapshot, serverMetrics } from "./metrics.ts";
import { parseCidrList } from "./net/cidr.ts";
import { meteredLogger, recordSample, timeoutCounter } from "./server_metrics.ts";
import { listen, type Server } from "./server.ts";
import type { SiteRules } from "./site/types.ts";
import type { TlsCertificate } from "./tls.ts";
import type { FromWorker, ToWorker, WorkerConfig } from "./supervisor.ts";

/** The parts of a worker's global scope used here. */
interface WorkerScope {
  postMessage(message: FromWorker): void;
  /** Ends the worker. */
  close(): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
  addEventListener(type: "error", listener: (event: ErrorEvent) => void): void;
  addEventListener(
    type: "unhandledrejection",
    listener: (event: PromiseRejectionEvent) => void,
  ): void;
}

/**
 * Binds the address, turning the usual failures into instructions.
 *
 * @param config Where to listen and with which limits.
 * @param handler Answers every request.
 * @param logger Where access lines and faults go.
 * @returns The running server.
 * @throws {UserError} When the port is taken, privileged or the address is not local.
 */
export function listenOrExplain(
  config: WorkerConfig,
  { handler, shortcut, close }: Site,
  logger: Logger,
  onTimeout?: (kind: "idle" | "body") => void,
): Server {
  const { hostname, port, limits, tuning, reusePort, health } = config;
  const cidrs = (text: string | null, flag: string) =>
    text === null ? null : parseCidrList(text, flag);
  const onShutdown = close;
  try {
    return listen({
      hostname,
      port,
      handler,
      shortcut,
      limits,
      tuning,
      logger,
      reusePort,
      onShutdown,
      health,
      proxyProtocol: cidrs(config.proxyProtocol, "--proxy-protocol"),
      trustProxy: cidrs(config.trustProxy, "--trust-proxy"),
      onTimeout,
      tls: config.tls,
    });
  } catch (error) {
    throw explainListenError(error, hostname, port);
  }
}

/**
 * Loads what the configuration names and listens.
 *
 * @returns The server, or the message and exit code for why it cannot start.
 */
async function start(config: WorkerConfig): Promise<Running | FromWorker> {
  try {
    const metrics = serverMetrics();
    const written = consoleLogger({
      quiet: config.quiet,
      format: config.logFormat,
      requestIdHeader: config.requestIdHeader,
    });
    // Counted on the way; whether ids are sent, and the flush, stay the written log's.
    const logger = { ...written, ...meteredLogger(written, metrics) };
    const app = config.app === null
      ? null
      : await loadApp(config.app, config.appName ?? config.app);
    const options = { logger, cache: config.tuning };
    const build = (rules: SiteRules) =>
      site(app, config.root, options, config.content, config.dev, {
        rules,
        fields: config.fields,
      });
    const served = switchableSite(build(config.rules));
    try {
      const server = listenOrExplain(config, served.site, logger, timeoutCounter(metrics));
      const snapshot = () => {
        recordSample(metrics, {
          connectionsOpen: server.connections,
          connectionsTotal: server.accepted,
          buffersInUse: server.buffersInUse,
          handshakes: server.handshakes,
          cache: served.site.cacheSample?.() ?? null,
        });
        return metrics.registry.snapshot();
      };
      return { server, reload: (rules) => served.swap(build(rules)), snapshot };
    } catch (error) {
      served.site.close();
      throw error;
    }
  } catch (error) {
    if (error instanceof UserError) {
      return { kind: "failed", message: error.message, exitCode: error.exitCode };
    }
    return { kind: "failed", message: `cannot start: ${describeError(error)}`, exitCode: 1 };
  }
}

/** Serves new connections with a new certificate; what went wrong, in one line, when it could not. */
async function certificateSet(running: Running | null, tls: TlsCertificate): Promise<FromWorker> {
  if (running === null) return { kind: "certificate-set", error: "the worker did not start" };
  try {
    await running.server.setCertificate(tls);
    return { kind: "certificate-set", error: null };
  } catch (error) {
    return { kind: "certificate-set", error: describeError(error) };
  }
}

/** Switches to new rules; what went wrong, in one line, when it could not. */
function reloaded(running: Running | null, rules: SiteRules): FromWorker {
  if (running === null) return { kind: "reloaded", error: "the worker did not start" };
  try {
    running.reload(rules);
    return { kind: "reloaded", error: null };
  } catch (error) {
    return { kind: "reloaded", error: describeError(error) };
  }
}

/** The I/O batch this worker's runtime was built with, or null when unset or not readable here. */
function ioEventsSeen(): string | null {
  try {
    return Deno.env.get(IO_EVENTS_VARIABLE) ?? null;
  } catch {
    return null; // The main thread could not set it, so this worker may not read it.
  }
}

/** A listening server, and how to switch it to new rules. */
interface Running {
  readonly server: Server;
  /** Serves new requests with new rules; requests in progress finish with the old ones. */
  readonly reload: (rules: SiteRules) => void;
  /** The worker's metrics now. */
  readonly snapshot: () => MetricsSnapshot;
}

/**
 * Makes `Deno.exit()` and `close()`, which end a worker without a word to
 * its parent, say so first: the supervisor then starts another in its place.
 */
function tellBeforeEnding(scope: WorkerScope): void {
  const exit = Deno.exit.bind(Deno);
  const close = scope.close.bind(scope);
  Object.defineProperty(Deno, "exit", {
    value: (code?: number): never => {
      scope.postMessage({ kind: "exiting", code: code ?? 0 });
      return exit(code);
    },
  });
  scope.close = () => {
    scope.postMessage({ kind: "exiting", code: null });
    close();
  };
}

/** Wires the worker to its supervisor. */
function main(scope: WorkerScope): void {
  // An application's stray promise or exception must not stop every other request.
  scope.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    console.error(`${SERVER_NAME}: unhandled rejection: ${describeError(event.reason)}`);
  });
  scope.addEventListener("error", (event) => {
    event.preventDefault();
    console.error(`${SERVER_NAME}: uncaught exception: ${describeError(event.error)}`);
  });
  tellBeforeEnding(scope);

  let running: Running | null = null;
  // New rules or a certificate that arrive while the worker starts wait for
  // the start, so that they are applied rather than answered for nothing.
  const started = Promise.withResolvers<Running | null>();
  scope.addEventListener("message", async (event) => {
    const message = event.data;
    if (message.kind === "start" && running === null) {
      const result = await start(message.config);
      started.resolve("server" in result ? result : null);
      if ("server" in result) {
        running = result;
        scope.postMessage(
          {
            kind: "listening",
            hostname: result.server.addr.hostname,
            port: result.server.addr.port,
            ioEventsPerTick: ioEventsSeen(),
          } satisfies FromWorker,
        );
      } else {
        scope.postMessage(result);
      }
    } else if (message.kind === "reload") {
      scope.postMessage(reloaded(await started.promise, message.rules));
    } else if (message.kind === "certificate") {
      scope.postMessage(await certificateSet(await started.promise, message.tls));
    } else if (message.kind === "metrics" && running !== null) {
      scope.postMessage({ kind: "metrics", snapshot: running.snapshot() });
    } else if (message.kind === "stop") {
      await running?.server.shutdown();
      scope.postMessage({ kind: "stopped" });
    }
  });
}

// Only inside a worker: importing this module elsewhere (to test it) starts nothing.
if ("WorkerGlobalScope" in globalThis) main(globalThis as unknown as WorkerScope);
