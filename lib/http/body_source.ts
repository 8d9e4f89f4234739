/**
 * Response bodies that can be copied into the writer's own buffers. A
 * `ReadableStream` hands over a new chunk for every read; a body with a
 * {@linkcode BodySource} lets the connection read straight into a large
 * pooled buffer and write that, which is how file bodies are sent. Whoever
 * consumes the response any other way still sees an ordinary stream.
 *
 * @module
 */

/** A body that fills a caller's buffer, like a file. */
export interface BodySource {
  /**
   * Copies the next bytes of the body into `p`.
   *
   * @returns How many bytes were copied (at least 1), or null when the body
   * has ended.
   */
  read(p: Uint8Array): Promise<number | null>;
  /** Releases what the body holds (the file). Safe to call more than once. */
  close(): void;
}

const sources = new WeakMap<Response, BodySource>();

/**
 * Gives a response a source for its body. The response's own stream must
 * read from the same source, so that either way of consuming it sends the
 * same bytes; whichever is used, the source is closed once.
 *
 * @param response A response whose body stream reads from `source`.
 * @param source The body as a source.
 * @returns The same response.
 */
export function withBodySource(response: Response, source: BodySource): Response {
  sources.set(response, source);
  return response;
}

/**
 * The source of a response's body, if it has one and its stream has not
 * been touched.
 *
 * @param response A response about to be written.
 * @returns The source, or undefined.
 */
export function bodySourceOf(response: Response): BodySource | undefined {
  const source = sources.get(response);
  if (source === undefined || response.bodyUsed || response.body?.locked) return undefined;
  return source;
}
