/**
 * Where a serving worker's metrics come from: each answered request through
 * the access log (method, status class, body bytes, duration, bodies over
 * the limit, head timeouts), timeouts the connection loop reports, and
 * everything that is a state rather than an event (open connections, the
 * file cache, lent buffers) sampled when a snapshot is asked for, so the
 * hot path pays for nothing it does not already do.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import {
  type Counter,
  methodIndex,
  type ServerMetrics,
  statusClassIndex,
  TIMEOUT_KIND,
  TLS_RESULT,
} from "./metrics.ts";

/** The states sampled for a snapshot. */
export interface ServerSample {
  /** Connections open now. */
  readonly connectionsOpen: number;
  /** Connections accepted since the start. */
  readonly connectionsTotal: number;
  /** Pooled file buffers lent out now. */
  readonly buffersInUse: number;
  /** The file cache's counts, or null without a cache. */
  readonly cache: CacheSample | null;
  /** TLS handshakes completed and failed since the start (both 0 over plain HTTP). */
  readonly handshakes?: { readonly ok: number; readonly failed: number };
}

/** What the file cache reports. */
export interface CacheSample {
  /** Lookups answered from memory since the start. */
  readonly hits: number;
  /** Lookups memory could not answer since the start. */
  readonly misses: number;
  /** Bytes held now. */
  readonly bytes: number;
  /** Files held now. */
  readonly entries: number;
}

/**
 * A logger that counts each access line into the metrics before passing it on.
 *
 * @param logger Where the lines go.
 * @param metrics The worker's metrics.
 * @returns The counting logger.
 *
 * @example
 * ```ts
 * const logger = meteredLogger(consoleLogger({ quiet: true }), serverMetrics());
 * ```
 */
export function meteredLogger(logger: Logger, metrics: ServerMetrics): Logger {
  return {
    ...logger,
    access: (entry) => {
      if (entry.status >= 100 && entry.status <= 599) {
        metrics.requests.at(methodIndex(entry.method), statusClassIndex(entry.status)).inc();
      }
      metrics.responseBytes.inc(entry.bytes);
      metrics.requestDuration.observe(entry.milliseconds / 1000);
      if (entry.status === 413) metrics.bodiesOverLimit.inc();
      if (entry.status === 408) metrics.timeouts.at(TIMEOUT_KIND.header).inc();
      logger.access(entry);
    },
    error: (message, error) => logger.error(message, error),
  };
}

/**
 * Counts a connection closed by a timeout the connection loop noticed.
 *
 * @param metrics The worker's metrics.
 * @returns The function the loop calls with the phase.
 */
export function timeoutCounter(metrics: ServerMetrics): (kind: "idle" | "body") => void {
  return (kind) => metrics.timeouts.at(TIMEOUT_KIND[kind]).inc();
}

/**
 * Puts a sample of the worker's states into its metrics: gauges are set,
 * counters kept by others (the cache's) are moved up to their value.
 *
 * @param metrics The worker's metrics.
 * @param sample The states now.
 *
 * @example
 * ```ts
 * recordSample(metrics, { connectionsOpen: 2, connectionsTotal: 9, buffersInUse: 0, cache: null });
 * ```
 */
export function recordSample(metrics: ServerMetrics, sample: ServerSample): void {
  metrics.connectionsOpen.set(sample.connectionsOpen);
  catchUp(metrics.connectionsTotal, sample.connectionsTotal);
  metrics.buffersInUse.set(sample.buffersInUse);
  if (sample.handshakes !== undefined) {
    catchUp(metrics.tlsHandshakes.at(TLS_RESULT.ok), sample.handshakes.ok);
    catchUp(metrics.tlsHandshakes.at(TLS_RESULT.failed), sample.handshakes.failed);
  }
  if (sample.cache === null) return;
  catchUp(metrics.cacheHits, sample.cache.hits);
  catchUp(metrics.cacheMisses, sample.cache.misses);
  metrics.cacheBytes.set(sample.cache.bytes);
  metrics.cacheEntries.set(sample.cache.entries);
}

/** Moves a counter up to a total counted elsewhere (never down). */
function catchUp(counter: Counter, total: number): void {
  if (total > counter.value) counter.inc(total - counter.value);
}
