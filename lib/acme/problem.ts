/**
 * ACME errors: problem documents (RFC 7807, RFC 8555 §6.7) read from a
 * response, what the client does about each type, and the one error class
 * the ACME code throws.
 *
 * @module
 */

/** The namespace of ACME's problem types. */
export const ACME_ERROR_PREFIX = "urn:ietf:params:acme:error:";

/** A problem document, the parts the client reads. */
export interface Problem {
  /** The type URI, such as `urn:ietf:params:acme:error:badNonce`. */
  readonly type: string;
  /** The human-readable explanation. */
  readonly detail: string;
  /** The HTTP status, when the server gave one. */
  readonly status?: number;
}

/** What the client does about a problem: send again, wait and send again, or fail. */
export type ProblemAction = "retry" | "wait" | "fail";

/**
 * RFC 8555 §6.5: a bad nonce is retried with the nonce the error carried;
 * §6.6: a rate limit is waited out when the server says for how long.
 */
const PROBLEM_ACTIONS: Readonly<Record<string, ProblemAction>> = {
  [`${ACME_ERROR_PREFIX}badNonce`]: "retry",
  [`${ACME_ERROR_PREFIX}rateLimited`]: "wait",
};

/**
 * What to do about a problem type.
 *
 * @param type The problem type URI.
 * @returns The action.
 *
 * @example
 * ```ts
 * problemAction("urn:ietf:params:acme:error:badNonce"); // "retry"
 * ```
 */
export function problemAction(type: string): ProblemAction {
  return PROBLEM_ACTIONS[type] ?? "fail";
}

/**
 * The ACME client's one error: a problem document the server sent (or one
 * made up for a response that was not one), as one line.
 *
 * @example
 * ```ts
 * const error = new AcmeError({ type: "urn:ietf:params:acme:error:unauthorized", detail: "no" });
 * error.message; // "ACME request failed: urn:ietf:params:acme:error:unauthorized: no"
 * ```
 */
export class AcmeError extends Error {
  override name = "AcmeError";
  /** The problem type URI. */
  readonly type: string;
  /** The explanation. */
  readonly detail: string;
  /** The HTTP status of the response, when there was one. */
  readonly status?: number;
  /** How long the server asked to wait before trying again, in milliseconds. */
  readonly retryAfterMs?: number;

  /**
   * @param problem The problem document.
   * @param retryAfterMs The server's Retry-After, in milliseconds.
   */
  constructor(problem: Problem, retryAfterMs?: number) {
    super(`ACME request failed: ${problem.type}: ${oneLine(problem.detail)}`);
    this.type = problem.type;
    this.detail = problem.detail;
    this.status = problem.status;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Reads a problem from an error response's body; a body that is not a
 * problem document becomes `about:blank` with the status and the start of
 * the text.
 *
 * @param status The response status.
 * @param body The response body as text.
 * @returns The problem.
 *
 * @example
 * ```ts
 * readProblem(400, '{"type":"urn:ietf:params:acme:error:badNonce","detail":"stale"}').type;
 * // "urn:ietf:params:acme:error:badNonce"
 * ```
 */
export function readProblem(status: number, body: string): Problem {
  const document = parseJsonObject(body);
  if (document !== null && typeof document.type === "string") {
    const detail = typeof document.detail === "string" ? document.detail : "";
    return { type: document.type, detail, status };
  }
  return { type: "about:blank", detail: `HTTP ${status} ${oneLine(body).slice(0, 200)}`, status };
}

/**
 * Reads `Retry-After` (RFC 9110 §10.2.3): seconds or an HTTP date.
 *
 * @param value The header value, or null when absent.
 * @param now The current time, for dates.
 * @returns The wait in milliseconds (never negative), or undefined when absent or unreadable.
 *
 * @example
 * ```ts
 * retryAfterMs("3", 0); // 3000
 * ```
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? value as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
