/**
 * Reason phrases for the status codes this server sends (RFC 9110 §15).
 *
 * @module
 */

/** Status code → reason phrase. */
export const STATUS_TEXT = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
} as const;

/**
 * The reason phrase for a status code; an empty string for codes without one
 * (the status line then ends in a space, which RFC 9112 §4 allows).
 *
 * @param status The status code.
 * @returns Its reason phrase.
 *
 * @example
 * ```ts
 * statusText(404); // "Not Found"
 * ```
 */
export function statusText(status: number): string {
  return (STATUS_TEXT as Record<number, string>)[status] ?? "";
}

/**
 * Whether a response with this status never carries content (RFC 9110 §6.4.1:
 * 1xx, 204 and 304).
 *
 * @param status The status code.
 * @returns True when the status forbids a body.
 */
export function isBodylessStatus(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}
