/**
 * Access and error logging. Formatting is pure; the writers are at the edge.
 *
 * @module
 */

/** One served request, as the access log records it. */
export interface AccessLogEntry {
  /** The client's address. */
  remote: string;
  /** The request method, or "-" when the request could not be parsed. */
  method: string;
  /** The request-target as sent, or "-". */
  target: string;
  /** The status code sent. */
  status: number;
  /** Body bytes sent (for an incomplete response, those written before it was cut short). */
  bytes: number;
  /** Time from the end of the request head to the end of the response. */
  milliseconds: number;
  /** True when the response was cut short (the client left, or its body failed). */
  incomplete?: boolean;
}

/** Where the server reports what happens. */
export interface Logger {
  /** Records a served request. */
  access(entry: AccessLogEntry): void;
  /** Records a fault: what happened and the error behind it. */
  error(message: string, error?: unknown): void;
}

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
 * formatAccessLine({ remote: "127.0.0.1", method: "GET", target: "/", status: 200,
 *   bytes: 12, milliseconds: 0.42 }, new Date(0));
 * // "1970-01-01T00:00:00.000Z 127.0.0.1 GET / 200 12 0.42ms"
 * ```
 */
export function formatAccessLine(entry: AccessLogEntry, now: Date): string {
  return `${now.toISOString()} ${entry.remote} ${entry.method} ${entry.target} ${entry.status} ` +
    `${entry.bytes} ${entry.milliseconds.toFixed(2)}ms${entry.incomplete ? " incomplete" : ""}`;
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

/**
 * A logger that writes the access log to standard output (unless `quiet`)
 * and faults to standard error.
 *
 * @param options `quiet` turns the access log off.
 * @returns The logger.
 */
export function consoleLogger(options: { quiet: boolean }): Logger {
  return {
    access: options.quiet ? () => {} : (entry) => console.log(formatAccessLine(entry, new Date())),
    error: (message, error) =>
      console.error(
        `${new Date().toISOString()} error: ${message}${
          error === undefined ? "" : `: ${describeError(error)}`
        }`,
      ),
  };
}

/** A logger that records nothing. */
export const silentLogger: Logger = { access: () => {}, error: () => {} };
