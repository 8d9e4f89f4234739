/**
 * The server-sent-events stream of development mode: every open page holds
 * one (`LIVE_EVENTS_PATH`), and each batch of changes is written to all of
 * them as one `change` event whose data is the `LiveChange` as JSON.
 *
 * A comment line is sent now and then so that proxies and browsers do not
 * give up on a quiet stream; a page that leaves cancels its stream and is
 * forgotten. A page that stops reading is cut off once its unread data
 * passes {@linkcode MAX_UNREAD_BYTES}, so it cannot make the server hold
 * an ever-growing queue; its browser reconnects when it reads the end.
 *
 * @module
 */

import { type Clock, realClock } from "../watchdog.ts";
import type { LiveChange } from "./changes.ts";
import { LIVE_CHANGE_EVENT } from "./paths.ts";

/** How often a keep-alive comment is sent by default (15 s). */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/**
 * Most bytes a stream may hold unread before it is closed (64 KiB): a
 * page that does not read its stream gets at most this and one more event.
 */
export const MAX_UNREAD_BYTES = 64 * 1024;

/** The fields of every event-stream response. */
const EVENT_STREAM_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  // Every response is a live stream of its own.
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
} as const;

const encoder = new TextEncoder();

/** The first bytes of every stream: reconnect one second after losing it. */
const RETRY_BYTES = encoder.encode("retry: 1000\n\n");

/** A comment line (ignored by `EventSource`) that keeps a quiet stream alive. */
const HEARTBEAT_BYTES = encoder.encode(": keep-alive\n\n");

/**
 * Counts a stream's queue in bytes, with no room before a write counts as
 * unread: its `desiredSize` is then minus the bytes not yet read.
 */
const UNREAD_BYTES: QueuingStrategy<Uint8Array> = {
  highWaterMark: 0,
  size: (chunk) => chunk.byteLength,
};

/** Options of {@linkcode LiveEvents}. */
export interface LiveEventsOptions {
  /** How often a keep-alive comment is sent; default {@linkcode DEFAULT_HEARTBEAT_MS}. */
  heartbeatMs?: number;
  /** Where the heartbeat's timer is set; default the program's (`realClock`). */
  clock?: Clock;
}

type Client = ReadableStreamDefaultController<Uint8Array>;

/**
 * The open event streams, and what is sent to all of them. One heartbeat
 * timer serves every stream; it runs only while some stream is open.
 *
 * @example
 * ```ts
 * import { LIVE_EVENTS_PATH } from "./paths.ts";
 *
 * const events = new LiveEvents();
 * const handler = (request: Request) =>
 *   new URL(request.url).pathname === LIVE_EVENTS_PATH
 *     ? events.response()
 *     : new Response("page");
 * events.broadcast({ reload: false, css: ["/css/site.css"], images: [] });
 * events.close(); // at shutdown
 * ```
 */
export class LiveEvents {
  readonly #clients = new Set<Client>();
  readonly #heartbeatMs: number;
  readonly #clock: Clock;
  #heartbeat: unknown;
  #closed = false;
  readonly #beat = (): void => this.#heartbeatTick();

  /**
   * Makes a hub with no stream open and no timer set.
   *
   * @param options The heartbeat interval and the clock.
   * @throws {RangeError} When `heartbeatMs` is not a positive finite number.
   */
  constructor(options: LiveEventsOptions = {}) {
    this.#heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#clock = options.clock ?? realClock;
    if (!Number.isFinite(this.#heartbeatMs) || this.#heartbeatMs <= 0) {
      throw new RangeError(`Invalid heartbeatMs: ${this.#heartbeatMs} is not a positive number`);
    }
  }

  /**
   * A new event stream: 200, `text/event-stream`, starting with the retry
   * interval and then open until the page leaves or {@linkcode close} is
   * called. After `close()`, the stream ends right after the retry line.
   *
   * @returns The response to send.
   */
  response(): Response {
    return new Response(this.#stream(), { status: 200, headers: EVENT_STREAM_HEADERS });
  }

  /**
   * Sends a batch of changes to every open stream as one `change` event
   * (the same bytes to each). Does nothing after {@linkcode close}.
   *
   * @param change The changes.
   */
  broadcast(change: LiveChange): void {
    if (this.#closed) return;
    this.#sendToAll(encodeChange(change));
  }

  /** How many streams are open. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Ends every stream and the heartbeat; streams opened later end at once. */
  close(): void {
    this.#closed = true;
    for (const client of this.#clients) closeQuietly(client);
    this.#clients.clear();
    this.#stopHeartbeat();
  }

  #stream(): ReadableStream<Uint8Array> {
    let client: Client | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = controller;
        this.#join(controller);
      },
      // The page left (or the connection broke).
      cancel: () => {
        if (client !== undefined) this.#leave(client);
      },
    }, UNREAD_BYTES);
  }

  #join(client: Client): void {
    client.enqueue(RETRY_BYTES);
    if (this.#closed) {
      client.close();
      return;
    }
    this.#clients.add(client);
    this.#startHeartbeat();
  }

  #leave(client: Client): void {
    this.#clients.delete(client);
    if (this.#clients.size === 0) this.#stopHeartbeat();
  }

  #sendToAll(bytes: Uint8Array): void {
    for (const client of this.#clients) this.#send(client, bytes);
  }

  /** Queues bytes on one stream; drops a stream that cannot take them or reads too little. */
  #send(client: Client, bytes: Uint8Array): void {
    try {
      client.enqueue(bytes);
    } catch {
      // Ended without a cancel reaching us (errored): forget it.
      this.#leave(client);
      return;
    }
    if ((client.desiredSize ?? 0) < -MAX_UNREAD_BYTES) {
      // Not reading: end it (what is queued is still delivered), and queue no more.
      closeQuietly(client);
      this.#leave(client);
    }
  }

  #startHeartbeat(): void {
    this.#heartbeat ??= this.#clock.setTimer(this.#beat, this.#heartbeatMs);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) this.#clock.clearTimer(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #heartbeatTick(): void {
    this.#heartbeat = undefined;
    this.#sendToAll(HEARTBEAT_BYTES);
    if (this.#clients.size > 0) this.#startHeartbeat();
  }
}

/** The bytes of one `change` event. JSON has no raw line breaks, so one `data:` line holds it. */
function encodeChange(change: LiveChange): Uint8Array {
  // Only the fields of a LiveChange, in a fixed order, whatever else the object carries.
  const data = JSON.stringify({ reload: change.reload, css: change.css, images: change.images });
  return encoder.encode(`event: ${LIVE_CHANGE_EVENT}\ndata: ${data}\n\n`);
}

function closeQuietly(client: Client): void {
  try {
    client.close();
  } catch {
    // Already closed or errored.
  }
}
