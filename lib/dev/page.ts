/**
 * An HTML response with the live-reload script in it: the body streams
 * through a {@linkcode ScriptInserter} once its first bytes show a full
 * document, `Content-Length` grows by the tag's length and the `ETag` names
 * the modified bytes. Fragments and bodies that are not HTML pass through.
 *
 * @module
 */

import { concat } from "../bytes.ts";
import { documentStart, LIVE_SCRIPT_TAG, ScriptInserter, SNIFF_BYTES } from "./inject.ts";

/** Statuses whose bodies are never modified: no content, or a part of the file. */
const UNMODIFIED_STATUSES = new Set([204, 206, 304]);

/**
 * Whether a response may get the script: an HTML body sent whole and as it is
 * (not a range, not already content-coded).
 *
 * @param response The response.
 * @returns True for a body worth looking at.
 *
 * @example
 * ```ts
 * isLiveCandidate(new Response("<p>", { headers: { "content-type": "text/html" } })); // true
 * ```
 */
export function isLiveCandidate(response: Response): boolean {
  if (response.body === null || UNMODIFIED_STATUSES.has(response.status)) return false;
  if (response.headers.has("content-encoding") || response.headers.has("content-range")) {
    return false;
  }
  const type = response.headers.get("content-type") ?? "";
  return /^text\/html\s*(;|$)/i.test(type);
}

/**
 * The validator of the modified bytes: the same tag with `-live` added, weak
 * when the original was weak. It changes whenever the file changes, and
 * differs from the file's own tag, so a cache never mixes the two.
 *
 * @param etag The file's `ETag`.
 * @returns The modified representation's `ETag`.
 *
 * @example
 * ```ts
 * liveTag('"abc"'); // '"abc-live"'
 * ```
 */
export function liveTag(etag: string): string {
  return etag.endsWith('"') ? `${etag.slice(0, -1)}-live"` : etag;
}

/** The first bytes of a body, read until they tell a document from a fragment. */
interface Sniffed {
  readonly head: Uint8Array;
  readonly verdict: "document" | "fragment";
  readonly done: boolean;
}

/** Reads from `reader` until {@linkcode documentStart} decides (or {@linkcode SNIFF_BYTES}). */
async function sniff(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<Sniffed> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (value !== undefined) {
      chunks.push(value);
      length += value.length;
    }
    const head = chunks.length === 1 ? chunks[0] : concat(chunks);
    const verdict = documentStart(head, done || length >= SNIFF_BYTES);
    if (verdict !== "undecided") return { head, verdict, done };
  }
}

/** The body again: `head`, then what is left in `reader`, each piece through `map`. */
function resumed(
  head: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  done: boolean,
  map: (chunk: Uint8Array | null) => Uint8Array[],
): ReadableStream<Uint8Array> {
  let first = true;
  let ended = done;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const enqueue = (pieces: Uint8Array[]) => {
        for (const piece of pieces) if (piece.length > 0) controller.enqueue(piece);
      };
      if (first) {
        first = false;
        enqueue(map(head));
        if (!ended) return;
      }
      if (!ended) {
        const { value, done } = await reader.read();
        if (value !== undefined) enqueue(map(value));
        ended = done;
        if (!done) return;
      }
      enqueue(map(null));
      controller.close();
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/**
 * The response with the live-reload script inserted, when it is a full HTML
 * document ({@linkcode isLiveCandidate}, then its first bytes); otherwise the
 * same status, fields and bytes. The body is streamed, never read whole.
 *
 * @param response An HTML response from the static layer.
 * @returns The response to send.
 *
 * @example
 * ```ts
 * const page = await withLiveScript(
 *   new Response("<!doctype html><body>hi</body>", { headers: { "content-type": "text/html" } }),
 * );
 * await page.text(); // '<!doctype html><body>hi<script src="/.portico/live.js"></script></body>'
 * ```
 */
export async function withLiveScript(response: Response): Promise<Response> {
  if (!isLiveCandidate(response)) return response;
  const reader = response.body!.getReader();
  const { head, verdict, done } = await sniff(reader);
  const init = { status: response.status, statusText: response.statusText };
  const headers = new Headers(response.headers);
  if (verdict === "fragment") {
    const body = resumed(head, reader, done, (chunk) => chunk === null ? [] : [chunk]);
    return new Response(body, { ...init, headers });
  }
  const inserter = new ScriptInserter(LIVE_SCRIPT_TAG);
  const body = resumed(
    head,
    reader,
    done,
    (chunk) => chunk === null ? inserter.finish() : inserter.push(chunk),
  );
  const length = headers.get("content-length");
  if (length !== null) {
    headers.set("content-length", String(Number(length) + LIVE_SCRIPT_TAG.length));
  }
  // Ranges are of the file as it is on disk, not of these bytes.
  headers.delete("accept-ranges");
  const etag = headers.get("etag");
  if (etag !== null) headers.set("etag", liveTag(etag));
  return new Response(body, { ...init, headers });
}
