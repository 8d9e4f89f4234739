/**
 * Access and error logging. Formatting is pure: one function per access-log
 * format (`text`, nginx's `combined`, `json`). The writers are at the edge:
 * access lines are gathered and written in batches, so a busy server makes
 * one write per turn of the event loop instead of one per request.
 *
 * @module
 */

/** One served request, as the access log records it. */
export interface AccessLogEntry {
  /** The client's address; an IPv4 client of a dual-stack socket as plain IPv4. */
  readonly remote: string;
  /** The request method, or "-" when the request could not be parsed. */
  readonly method: string;
  /** The request-target as sent, or "-". */
  readonly target: string;
  /** `HTTP/1.1` or `HTTP/1.0`, or "-" when the request could not be parsed. */
  readonly protocol: string;
  /** The status code sent. */
  readonly status: number;
  /** Body bytes sent (for an incomplete response, those written before it was cut short). */
  readonly bytes: number;
  /** Time from the end of the request head to the end of the response. */
  readonly milliseconds: number;
  /** The `User-Agent` field, or null when there is none. */
  readonly userAgent: string | null;
  /** The `Referer` field, or null when there is none. */
  readonly referrer: string | null;
  /** The request's id (sent as `X-Request-Id` when the logger asks for it). */
  readonly requestId: string;
  /** True when the response was cut short (the client left, or its body failed). */
  readonly incomplete?: boolean;
}

/** Where the server reports what happens. */
export interface Logger {
  /** Records a served request. */
  access(entry: AccessLogEntry): void;
  /** Records a fault: what happened and the error behind it. */
  error(message: string, error?: unknown): void;
  /**
   * Whether each response carries its request's id as `X-Request-Id`, so
   * that a client can quote the line that records it. Off when absent.
   */
  readonly requestIdHeader?: boolean;
  /** Resolves when every line recorded so far has been written. */
  flush?(): Promise<void>;
}

/** The access-log formats, as `--log-format` names them. */
export const LOG_FORMATS = ["text", "combined", "json"] as const;

/** One of {@linkcode LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Turns an entry into one line (without the newline); `now` is when it is written. */
export type AccessFormatter = (entry: AccessLogEntry, now: Date) => string;

/** What the entry says of a request whose head could not be parsed. */
const UNPARSED = "-";

/**
 * Formats an access-log line: time, client, method, target, status, body
 * bytes and duration.
 *
 * @param entry The request.
 * @param now The time to print.
 * @returns The line, without a newline.
 *
 * @example
 * ```ts
 * formatAccessLine({ remote: "127.0.0.1", method: "GET", target: "/", protocol: "HTTP/1.1",
 *   status: 200, bytes: 12, milliseconds: 0.42, userAgent: null, referrer: null,
 *   requestId: "x" }, new Date(0));
 * // "1970-01-01T00:00:00.000Z 127.0.0.1 GET / 200 12 0.42ms"
 * ```
 */
export function formatAccessLine(entry: AccessLogEntry, now: Date): string {
  return `${now.toISOString()} ${entry.remote} ${entry.method} ${entry.target} ${entry.status} ` +
    `${entry.bytes} ${entry.milliseconds.toFixed(2)}ms${entry.incomplete ? " incomplete" : ""}`;
}

/**
 * Formats a line of nginx's (and Apache's) `combined` format:
 * `client - - [time] "request" status bytes "referrer" "user agent"`. The
 * time is when the request arrived (the entry is written when it ends:
 * `now` less its duration), in UTC. Quoted values escape `"`, `\`, control
 * bytes and bytes above 0x7E as `\xHH`, as nginx's default escaping does;
 * a missing value is `-`.
 *
 * @param entry The request.
 * @param now When the response ended.
 * @returns The line, without a newline.
 *
 * @example
 * ```ts
 * formatCombinedLine({ remote: "127.0.0.1", method: "GET", target: "/", protocol: "HTTP/1.1",
 *   status: 200, bytes: 12, milliseconds: 0, userAgent: "curl/8.5.0", referrer: null,
 *   requestId: "x" }, new Date(Date.UTC(2026, 11, 7, 13, 0, 45)));
 * // '127.0.0.1 - - [07/Dec/2026:13:00:45 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8.5.0"'
 * ```
 */
export function formatCombinedLine(entry: AccessLogEntry, now: Date): string {
  const request = entry.protocol === UNPARSED
    ? UNPARSED
    : `${entry.method} ${entry.target} ${entry.protocol}`;
  const arrived = new Date(now.getTime() - entry.milliseconds);
  return `${entry.remote} - - [${commonLogTime(arrived)}] "${escapeLogValue(request)}" ` +
    `${entry.status} ${entry.bytes} "${quotedOrDash(entry.referrer)}" ` +
    `"${quotedOrDash(entry.userAgent)}"`;
}

/**
 * Formats a line of the JSON format: one object with `time` (when the
 * response ended, ISO 8601), `client`, `method`, `target`, `protocol`
 * (these three null when the request could not be parsed), `status`,
 * `bytes`, `duration_ms` (three decimals), `user_agent`, `referrer`,
 * `request_id`, and `incomplete: true` for a response cut short.
 *
 * @param entry The request.
 * @param now When the response ended.
 * @returns The line, without a newline.
 *
 * @example
 * ```ts
 * formatJsonLine({ remote: "::1", method: "GET", target: "/", protocol: "HTTP/1.1",
 *   status: 304, bytes: 0, milliseconds: 0.1234, userAgent: null, referrer: null,
 *   requestId: "x" }, new Date(0));
 * // '{"time":"1970-01-01T00:00:00.000Z","client":"::1","method":"GET",...,"duration_ms":0.123,...}'
 * ```
 */
export function formatJsonLine(entry: AccessLogEntry, now: Date): string {
  const parsed = entry.protocol !== UNPARSED;
  const line: Record<string, string | number | boolean | null> = {
    time: now.toISOString(),
    client: entry.remote,
    method: parsed ? entry.method : null,
    target: parsed ? entry.target : null,
    protocol: parsed ? entry.protocol : null,
    status: entry.status,
    bytes: entry.bytes,
    duration_ms: Math.round(entry.milliseconds * 1000) / 1000,
    user_agent: entry.userAgent,
    referrer: entry.referrer,
    request_id: entry.requestId,
  };
  if (entry.incomplete) line.incomplete = true;
  return JSON.stringify(line);
}

/** The formatter of each format. */
export const ACCESS_FORMATTERS: Readonly<Record<LogFormat, AccessFormatter>> = {
  text: formatAccessLine,
  combined: formatCombinedLine,
  json: formatJsonLine,
};

const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
] as const;

/**
 * A time as the Common Log Format writes it, in UTC: `07/Dec/2026:13:00:45 +0000`.
 *
 * @param time The time.
 * @returns The text between the brackets.
 *
 * @example
 * ```ts
 * commonLogTime(new Date(0)); // "01/Jan/1970:00:00:00 +0000"
 * ```
 */
export function commonLogTime(time: Date): string {
  const two = (n: number) => n < 10 ? `0${n}` : `${n}`;
  return `${two(time.getUTCDate())}/${MONTHS[time.getUTCMonth()]}/${time.getUTCFullYear()}:` +
    `${two(time.getUTCHours())}:${two(time.getUTCMinutes())}:${two(time.getUTCSeconds())} +0000`;
}

/** Characters a quoted log value keeps as they are: printable ASCII but `"` and `\`. */
function isPlain(code: number): boolean {
  return code >= 0x20 && code <= 0x7e && code !== 0x22 && code !== 0x5c;
}

/**
 * A value for a quoted field of the `combined` format, escaped as nginx's
 * default escaping does: `"`, `\`, bytes below 0x20 and above 0x7E become
 * `\xHH` (upper-case hex). Header values are Latin-1 text, one code unit
 * per byte; a code unit above 0xFF is escaped byte by byte as UTF-8.
 *
 * @param value The value.
 * @returns The escaped value.
 *
 * @example
 * ```ts
 * escapeLogValue('say "hi"\n'); // "say \\x22hi\\x22\\x0A"
 * ```
 */
export function escapeLogValue(value: string): string {
  let i = 0;
  while (i < value.length && isPlain(value.charCodeAt(i))) i++;
  if (i === value.length) return value;
  let out = value.slice(0, i);
  for (; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (isPlain(code)) out += value[i];
    else if (code <= 0xff) out += hexEscape(code);
    else {
      const char = String.fromCodePoint(value.codePointAt(i)!);
      for (const byte of new TextEncoder().encode(char)) out += hexEscape(byte);
      i += char.length - 1;
    }
  }
  return out;
}

function hexEscape(byte: number): string {
  return `\\x${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}

function quotedOrDash(value: string | null): string {
  return value === null ? "-" : escapeLogValue(value);
}

/** How a dual-stack socket shows an IPv4 client. */
const MAPPED_PREFIX = "::ffff:";

/**
 * The client's address as the log writes it: an IPv4 address that a
 * dual-stack socket shows as IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is
 * written as the IPv4 address it is.
 *
 * @param hostname The address as the socket gives it.
 * @returns The address to log.
 *
 * @example
 * ```ts
 * clientAddress("::ffff:192.0.2.7"); // "192.0.2.7"
 * clientAddress("2001:db8::1"); // "2001:db8::1"
 * ```
 */
export function clientAddress(hostname: string): string {
  if (hostname.length <= MAPPED_PREFIX.length || !hostname.includes(".")) return hostname;
  const prefix = hostname.slice(0, MAPPED_PREFIX.length).toLowerCase();
  return prefix === MAPPED_PREFIX ? hostname.slice(MAPPED_PREFIX.length) : hostname;
}

/** Where a {@linkcode LineWriter} sends its bytes: `Deno.stdout`, or a test's recorder. */
export interface LogSink {
  /** Writes some of `p` without blocking the event loop. */
  write(p: Uint8Array): Promise<number>;
  /** Writes some of `p` now. */
  writeSync(p: Uint8Array): number;
}

/** Options for {@linkcode LineWriter}. */
export interface LineWriterOptions {
  /**
   * How many characters may wait while the sink is slow before lines are
   * written synchronously: the server then slows to the pace of its log
   * rather than losing lines or growing without bound.
   */
  readonly maxPendingChars?: number;
}

/** Lines waiting while the sink is slow: 8 Mi characters (about 60,000 lines). */
const MAX_PENDING_CHARS = 8 * 1024 * 1024;
/**
 * How long the first line of a batch waits for others. A write to standard
 * output that does not block the event loop costs about 30 µs (it goes
 * through a thread of its own): written a line at a time, that is more than
 * the request; gathered for 10 ms, under 1 µs a line.
 */
const BATCH_DELAY_MS = 10;
/**
 * The largest write, cut at a line's end: a pipe takes a write of at most
 * this many bytes whole (POSIX `PIPE_BUF`), so the lines of several workers
 * sharing standard output never tear each other.
 */
const MAX_WRITE_BYTES = 4096;
const NEWLINE = 0x0a;

/**
 * Writes lines in batches: the lines recorded within a few milliseconds go
 * out together, in writes of whole lines, one write at a time, without
 * blocking the event loop. Nothing is dropped: lines recorded while a write
 * is under way wait for the next, and when too many wait (the reader of
 * standard output has stalled), they are written synchronously.
 * {@linkcode LineWriter.flush} writes what waits at once.
 *
 * @example
 * ```ts
 * const out = new LineWriter(Deno.stdout);
 * out.write("one");
 * out.write("two");
 * await out.flush(); // "one\ntwo\n" in one write
 * ```
 */
export class LineWriter {
  readonly #sink: LogSink;
  readonly #maxPending: number;
  readonly #encoder = new TextEncoder();
  #lines: string[] = [];
  #pendingChars = 0;
  #draining: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #failed = false;

  /**
   * @param sink Where the bytes go.
   * @param options How much may wait.
   */
  constructor(sink: LogSink, options: LineWriterOptions = {}) {
    this.#sink = sink;
    this.#maxPending = options.maxPendingChars ?? MAX_PENDING_CHARS;
  }

  /**
   * Records a line; it is written with the others of its batch, or after
   * the write under way.
   *
   * @param line The line, without its newline.
   */
  write(line: string): void {
    this.#lines.push(line);
    this.#pendingChars += line.length + 1;
    if (this.#pendingChars <= this.#maxPending) this.#schedule();
    else if (this.#draining === null) this.#startDrain();
    else this.#writeWaitingSync();
  }

  /**
   * Writes what waits now, and waits until every line recorded so far has
   * been written.
   *
   * @returns When the lines are out.
   */
  async flush(): Promise<void> {
    while (this.#timer !== undefined || this.#draining !== null) {
      if (this.#timer !== undefined) this.#startDrain();
      await this.#draining;
    }
  }

  /**
   * A batch goes out {@linkcode BATCH_DELAY_MS} after its first line, and
   * never while a write is under way: lines that come meanwhile wait for
   * the next batch rather than each making a write of its own.
   */
  #schedule(): void {
    if (this.#draining === null && this.#timer === undefined) {
      this.#timer = setTimeout(this.#startDrain, BATCH_DELAY_MS);
    }
  }

  readonly #startDrain = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#draining ??= this.#drain();
  };

  /** Writes one batch: the lines waiting now. */
  async #drain(): Promise<void> {
    // Settles after `#draining` is set, even when there is nothing to write.
    await Promise.resolve();
    try {
      for (const chunk of this.#takeChunks()) await this.#writeAll(chunk);
    } catch (error) {
      this.#writeFailed(error);
    } finally {
      this.#draining = null;
      if (this.#lines.length > 0) this.#schedule();
    }
  }

  /** The waiting lines as bytes, cut into writes of whole lines. */
  #takeChunks(): Uint8Array[] {
    if (this.#lines.length === 0) return [];
    const bytes = this.#encoder.encode(`${this.#lines.join("\n")}\n`);
    this.#lines = [];
    this.#pendingChars = 0;
    return wholeLineChunks(bytes, MAX_WRITE_BYTES);
  }

  async #writeAll(chunk: Uint8Array): Promise<void> {
    let written = 0;
    while (written < chunk.length) written += await this.#sink.write(chunk.subarray(written));
  }

  #writeWaitingSync(): void {
    try {
      for (const chunk of this.#takeChunks()) {
        let written = 0;
        while (written < chunk.length) written += this.#sink.writeSync(chunk.subarray(written));
      }
    } catch (error) {
      this.#writeFailed(error);
    }
  }

  /** Standard output is gone: the lines are dropped, and that is said once. */
  #writeFailed(error: unknown): void {
    this.#lines = [];
    this.#pendingChars = 0;
    if (this.#failed) return;
    this.#failed = true;
    console.error(
      `${new Date().toISOString()} error: cannot write the access log: ${describeError(error)}`,
    );
  }
}

/**
 * Cuts bytes of whole lines into pieces of at most `max` bytes that each
 * end with a newline (a longer line is a piece of its own).
 *
 * @param bytes Lines, each ending with a newline.
 * @param max The largest piece wanted.
 * @returns The pieces, views of `bytes`.
 *
 * @example
 * ```ts
 * wholeLineChunks(new TextEncoder().encode("ab\ncd\n"), 4).length; // 2
 * ```
 */
export function wholeLineChunks(bytes: Uint8Array, max: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  while (bytes.length - start > max) {
    let end = bytes.lastIndexOf(NEWLINE, start + max - 1) + 1;
    if (end <= start) end = bytes.indexOf(NEWLINE, start + max) + 1;
    chunks.push(bytes.subarray(start, end));
    start = end;
  }
  if (start < bytes.length) chunks.push(bytes.subarray(start));
  return chunks;
}

/**
 * Describes an error in one line without a stack trace.
 *
 * @param error Anything thrown.
 * @returns `Name: message`, or the value as text.
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${describeError(error.cause)})` : "";
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

/**
 * The first line of a text (an error message that goes on with a code frame, say).
 *
 * @param text Any text.
 * @returns Everything before its first newline.
 */
export function firstLine(text: string): string {
  const end = text.indexOf("\n");
  return end === -1 ? text : text.slice(0, end);
}

/** Options for {@linkcode consoleLogger}. */
export interface ConsoleLoggerOptions {
  /** No access log. */
  readonly quiet: boolean;
  /** The access log's format; `text` by default. */
  readonly format?: LogFormat;
  /** Send each request's id as `X-Request-Id` (see {@linkcode Logger.requestIdHeader}). */
  readonly requestIdHeader?: boolean;
  /** Where access lines go; standard output by default. */
  readonly sink?: LogSink;
}

/**
 * A logger that writes the access log to standard output (unless `quiet`),
 * in batches through a {@linkcode LineWriter}, and faults to standard error.
 *
 * @param options `quiet` turns the access log off; `format` picks its format.
 * @returns The logger.
 *
 * @example
 * ```ts
 * const logger = consoleLogger({ quiet: false, format: "combined" });
 * const server = listen({ hostname: "127.0.0.1", port: 0, handler, logger });
 * ```
 */
export function consoleLogger(options: ConsoleLoggerOptions): Logger {
  const format = ACCESS_FORMATTERS[options.format ?? "text"];
  const out = options.quiet ? null : new LineWriter(options.sink ?? Deno.stdout);
  return {
    access: out === null ? () => {} : (entry) => out.write(format(entry, new Date())),
    error: (message, error) =>
      console.error(
        `${new Date().toISOString()} error: ${message}${
          error === undefined ? "" : `: ${describeError(error)}`
        }`,
      ),
    requestIdHeader: options.requestIdHeader ?? false,
    flush: () => out?.flush() ?? Promise.resolve(),
  };
}

/** A logger that records nothing. */
export const silentLogger: Logger = { access: () => {}, error: () => {} };
