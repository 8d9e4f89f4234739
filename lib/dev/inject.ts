/**
 * Inserting the live-reload script into an HTML document as it streams by.
 *
 * Two questions are answered on bytes, never on a decoded string, so any
 * encoding that keeps ASCII as ASCII (UTF-8, the Latin ones) passes through
 * untouched:
 *
 * - Is this a full document or a fragment? Decided by how it begins
 *   ({@linkcode documentStart}): after a byte-order mark, white space and
 *   comments, a document begins with `<!doctype`, `<html`, `<head`,
 *   `<body`, `<title` or `<meta`. A fragment (`<li>…</li>`, as an
 *   HTML-over-the-wire page fetches) is left alone.
 * - Where does the script go? Before the first `</body>` or `</html>` end
 *   tag the way a browser would tokenize it (not inside a comment, an
 *   attribute value, or the text of `<script>`, `<style>`, `<textarea>`,
 *   `<title>` and the other raw-text elements), else at the very end
 *   ({@linkcode ScriptInserter}).
 *
 * The inserted tag has a fixed length, so the modified length is known
 * before the body is read: a `Content-Length` stays exact.
 *
 * @module
 */

import { concat } from "../bytes.ts";
import { LIVE_SCRIPT_PATH } from "./paths.ts";

/** The element inserted into every full document in development mode. */
export const LIVE_SCRIPT_TAG: Uint8Array = new TextEncoder().encode(
  `<script src="${LIVE_SCRIPT_PATH}"></script>`,
);

/**
 * How many bytes {@linkcode documentStart} may need before it decides: a
 * document whose first tag comes later (after a long comment) is taken for
 * a fragment and sent as it is.
 */
export const SNIFF_BYTES = 4096;

/** What the beginning of an HTML body says it is, or that it needs more bytes to tell. */
export type DocumentStart = "document" | "fragment" | "undecided";

/** The tags a full document may begin with (lowercase, without `<`). */
const DOCUMENT_OPENERS = ["!doctype", "html", "head", "body", "title", "meta"] as const;

/** Elements whose text is not markup: a `</body>` in it is text. */
const RAW_TEXT = new Set([
  "script",
  "style",
  "textarea",
  "title",
  "xmp",
  "iframe",
  "noembed",
  "noframes",
  "noscript",
  "plaintext",
]);

/** The end tags the script goes before. */
const CLOSERS = ["body", "html"] as const;

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const DASH = 0x2d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

/** HTML's ASCII white space: tab, line feed, form feed, carriage return, space. */
function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0c || byte === 0x0d;
}

/** An ASCII letter, as a tag name begins. */
function isLetter(byte: number): boolean {
  return (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a;
}

/** What ends a tag name: white space, `/` or `>`. */
function endsName(byte: number): boolean {
  return isSpace(byte) || byte === SLASH || byte === GT;
}

/** The byte lowercased when it is an ASCII capital. */
function lower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/** Skips a byte-order mark, white space and complete comments; null when a comment is open. */
function skipPreamble(bytes: Uint8Array): number | null {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (;;) {
    while (i < bytes.length && isSpace(bytes[i])) i++;
    if (!startsWith(bytes, i, "<!--")) return i;
    const end = indexOfAscii(bytes, "-->", i + 4);
    if (end < 0) return null;
    i = end + 3;
  }
}

/** Whether `bytes` at `at` spells `text` (ASCII, compared case-insensitively). */
function startsWith(bytes: Uint8Array, at: number, text: string): boolean {
  if (at + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) {
    if (lower(bytes[at + i]) !== text.charCodeAt(i)) return false;
  }
  return true;
}

/** Where the ASCII `text` next occurs from `from`, or -1. */
function indexOfAscii(bytes: Uint8Array, text: string, from: number): number {
  for (let i = from; i + text.length <= bytes.length; i++) {
    if (startsWith(bytes, i, text)) return i;
  }
  return -1;
}

/**
 * Tells a full HTML document from a fragment by how its bytes begin.
 *
 * @param bytes The first bytes of the body (all of them, when it is shorter
 *   than {@linkcode SNIFF_BYTES}).
 * @param complete Whether `bytes` is the whole body, so there is nothing more to wait for.
 * @returns `document`, `fragment`, or `undecided` when more bytes could change the answer.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("<!DOCTYPE html><title>x</title>");
 * documentStart(bytes, true); // "document"
 * ```
 */
export function documentStart(bytes: Uint8Array, complete: boolean): DocumentStart {
  const at = skipPreamble(bytes);
  if (at === null || at === bytes.length) return complete ? "fragment" : "undecided";
  if (bytes[at] !== LT) return "fragment";
  for (const opener of DOCUMENT_OPENERS) {
    const name = `<${opener}`;
    const available = bytes.length - at;
    if (available <= name.length) {
      if (!complete && startsWith(bytes, at, name.slice(0, available))) return "undecided";
      continue;
    }
    if (startsWith(bytes, at, name) && endsName(bytes[at + name.length])) return "document";
  }
  return "fragment";
}

/** Where the tokenizer is, as far as finding the closing tags needs. */
type State =
  | "data" // text
  | "open" // just after `<`
  | "bang" // after `<!`
  | "comment" // inside `<!-- ... -->`
  | "startName" // a start tag's name
  | "endName" // an end tag's name, while it may still be `body` or `html`
  | "tag" // a tag's attributes, up to `>`
  | "quoted" // an attribute value in quotes
  | "raw"; // the text of a raw-text element, up to its end tag

/**
 * Inserts a tag into an HTML document delivered in chunks: before the first
 * `</body>` or `</html>` a browser would see as an end tag, or at the end.
 * Every byte of the input comes out once, in order, with the tag added
 * exactly once; only the few bytes of a possible end tag are held back
 * between chunks.
 *
 * @example
 * ```ts
 * const inserter = new ScriptInserter(new TextEncoder().encode("<script></script>"));
 * const out = [
 *   ...inserter.push(new TextEncoder().encode("<p>hi</bo")),
 *   ...inserter.push(new TextEncoder().encode("dy>")),
 *   ...inserter.finish(),
 * ];
 * ```
 */
export class ScriptInserter {
  readonly #tag: Uint8Array;
  #inserted = false;
  #state: State = "data";
  /** The bytes from a `<` that may begin `</body` or `</html`, not yet passed on. */
  #held: Uint8Array = new Uint8Array(0);
  /** The tag name read so far (lowercase), or the raw-text element's name. */
  #name = "";
  /** In `raw`: how much of `</name` has matched. In `comment`: dashes in a row. In `bang`: dashes. */
  #matched = 0;
  /** In `quoted`: the quote that ends the value. */
  #quote = 0;
  /** Whether the tag being read is a start tag (its `>` may open raw text). */
  #startTag = false;

  /** @param tag The bytes to insert. */
  constructor(tag: Uint8Array) {
    this.#tag = tag;
  }

  /** Whether the tag has been placed. */
  get inserted(): boolean {
    return this.#inserted;
  }

  /**
   * Takes the next chunk of the document.
   *
   * @param chunk Bytes of the document, in order.
   * @returns The bytes to pass on now (possibly none).
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#inserted) return [chunk];
    const bytes = this.#held.length === 0 ? chunk : concat([this.#held, chunk]);
    const base = this.#held.length;
    let holdFrom = this.#state === "open" || this.#state === "endName" ? 0 : -1;
    for (let i = base; i < bytes.length; i++) {
      if (this.#step(bytes[i])) {
        this.#inserted = true;
        this.#held = new Uint8Array(0);
        return [bytes.subarray(0, holdFrom), this.#tag, bytes.subarray(holdFrom)];
      }
      // "open" is entered only on a `<`: a possible end tag starts here.
      if (this.#state === "open") holdFrom = i;
      else if (this.#state !== "endName") holdFrom = -1;
    }
    if (holdFrom < 0) {
      this.#held = new Uint8Array(0);
      return [bytes];
    }
    this.#held = bytes.slice(holdFrom);
    return [bytes.subarray(0, holdFrom)];
  }

  /**
   * Ends the document: the tag goes at the end when no closing tag was seen.
   *
   * @returns The last bytes to pass on.
   */
  finish(): Uint8Array[] {
    if (this.#inserted) return [];
    this.#inserted = true;
    const held = this.#held;
    this.#held = new Uint8Array(0);
    return [held, this.#tag];
  }

  /** Advances over one byte; true when it completes `</body` or `</html` (the tag goes before its `<`). */
  #step(byte: number): boolean {
    switch (this.#state) {
      case "data":
        if (byte === LT) this.#state = "open";
        return false;
      case "open":
        return this.#afterOpen(byte);
      case "bang":
        if (byte === DASH && ++this.#matched === 2) {
          this.#state = "comment";
          this.#matched = 2; // `<!-->` closes at once, as browsers read it.
        } else if (byte !== DASH) {
          this.#state = byte === GT ? "data" : "tag"; // `<!doctype …>` and other declarations.
        }
        return false;
      case "comment":
        if (byte === GT && this.#matched >= 2) this.#state = "data";
        this.#matched = byte === DASH ? this.#matched + 1 : 0;
        return false;
      case "startName":
        if (endsName(byte)) return this.#endOfName(byte);
        this.#name += String.fromCharCode(lower(byte));
        return false;
      case "endName":
        return this.#inEndName(byte);
      case "tag":
        if (byte === DQUOTE || byte === SQUOTE) {
          this.#quote = byte;
          this.#state = "quoted";
        } else if (byte === GT) {
          this.#closeTag();
        }
        return false;
      case "quoted":
        if (byte === this.#quote) this.#state = "tag";
        return false;
      case "raw":
        this.#inRawText(byte);
        return false;
    }
  }

  /** After `<`: a comment or declaration, an end tag, a start tag, or just text. */
  #afterOpen(byte: number): boolean {
    this.#name = "";
    this.#matched = 0;
    if (byte === BANG) this.#state = "bang";
    else if (byte === SLASH) this.#state = "endName";
    else if (isLetter(byte)) {
      this.#state = "startName";
      this.#name = String.fromCharCode(lower(byte));
    } else this.#state = byte === LT ? "open" : "data";
    return false;
  }

  /** A start tag's name ended: read its attributes, or open raw text at `>`. */
  #endOfName(byte: number): boolean {
    this.#startTag = true;
    if (byte === GT) this.#closeTag();
    else this.#state = "tag";
    return false;
  }

  /** One byte of an end tag's name: true when it completes `</body` or `</html`. */
  #inEndName(byte: number): boolean {
    if (endsName(byte) && this.#name !== "") {
      if ((CLOSERS as readonly string[]).includes(this.#name)) return true;
      this.#startTag = false;
      if (byte === GT) this.#closeTag();
      else this.#state = "tag";
      return false;
    }
    if (this.#name === "" && !isLetter(byte)) {
      // `</>` is nothing and `</3` a bogus comment; neither can close the body.
      this.#state = byte === GT ? "data" : "tag";
      this.#startTag = false;
      return false;
    }
    this.#name += String.fromCharCode(lower(byte));
    if (!CLOSERS.some((closer) => closer.startsWith(this.#name))) {
      this.#startTag = false;
      this.#state = "tag";
    }
    return false;
  }

  /** A tag's `>`: text follows, or raw text when it opened a raw-text element. */
  #closeTag(): void {
    if (this.#startTag && RAW_TEXT.has(this.#name)) {
      this.#state = "raw";
      this.#matched = 0;
    } else {
      this.#state = "data";
    }
    this.#startTag = false;
  }

  /** One byte of raw text: its end tag `</name` followed by a name's end leaves it. */
  #inRawText(byte: number): void {
    const name = this.#name;
    const m = this.#matched;
    if (m === name.length + 2) {
      if (endsName(byte)) {
        this.#startTag = false;
        if (byte === GT) this.#state = "data";
        else this.#state = "tag";
        return;
      }
      this.#matched = byte === LT ? 1 : 0;
      return;
    }
    const expected = m === 0 ? LT : m === 1 ? SLASH : name.charCodeAt(m - 2);
    if (lower(byte) === expected) this.#matched = m + 1;
    else this.#matched = byte === LT ? 1 : 0;
  }
}
