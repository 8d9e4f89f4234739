/**
 * The `_headers` file, in the format Netlify and Cloudflare Pages read: a
 * path pattern on a line of its own, then indented `Name: value` lines that
 * set fields for the paths it matches, and `! Name` lines that remove one.
 * Also the checks every header rule's field names and values pass.
 *
 * @module
 */

import { compilePattern } from "./pattern.ts";
import { type HeaderRule, RuleError } from "./types.ts";

// RFC 9110 §5.6.2: token = 1*tchar.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 9110 §5.5: field values hold no controls but horizontal tab, and each
// character must fit one byte (Headers refuses anything above U+00FF).
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
// Framing and persistence belong to the connection (RFC 9112 §6, RFC 9110
// §7.6.1); a rule that changed them would corrupt the response.
const SERVER_FIELDS: ReadonlySet<string> = new Set([
  "connection",
  "content-length",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Checks a field name for a header rule and gives it in lower case.
 *
 * @param name The name as written.
 * @param where Where it was written, for the error.
 * @returns The lower-case name.
 * @throws {RuleError} For a name that is not an HTTP token, or a field the server owns.
 *
 * @example
 * ```ts
 * checkFieldName("X-Frame-Options", "_headers:2"); // "x-frame-options"
 * checkFieldName("Content-Length", "_headers:2"); // throws: set by the server
 * ```
 */
export function checkFieldName(name: string, where: string): string {
  if (!TOKEN.test(name)) {
    throw new RuleError(
      where,
      `expected a field name of letters, digits and !#$%&'*+-.^_\`|~ such as X-Frame-Options, not ${
        JSON.stringify(name)
      }`,
    );
  }
  const lower = name.toLowerCase();
  if (SERVER_FIELDS.has(lower)) {
    throw new RuleError(where, `expected another field than ${lower}, which the server sets`);
  }
  return lower;
}

/**
 * Checks a field value for a header rule: no control characters but tab,
 * nothing above U+00FF.
 *
 * @param value The value.
 * @param where Where it was written, for the error.
 * @throws {RuleError} When the value cannot be sent.
 *
 * @example
 * ```ts
 * checkFieldValue("max-age=31536000, immutable", "_headers:3"); // fine
 * ```
 */
export function checkFieldValue(value: string, where: string): void {
  if (BAD_VALUE_CHAR.test(value)) {
    throw new RuleError(
      where,
      "expected a field value without control characters or characters above U+00FF",
    );
  }
}

/** A path's block as it is read. */
interface Block {
  readonly path: string;
  readonly origin: string;
  readonly set: Map<string, string>;
  readonly remove: string[];
}

/**
 * Reads a `_headers` file. Lines starting with `#` (after any indentation)
 * and blank lines are ignored. A name given twice under one path has its
 * values joined with `, `; a path with no field lines gives no rule.
 *
 * @param text The file's text.
 * @param file Its name in messages.
 * @returns One rule per path block that has fields, in file order.
 * @throws {RuleError} `${file}:${line}` and what is expected, for a line that cannot be used.
 *
 * @example
 * ```ts
 * const text = "/assets/*\n  Cache-Control: max-age=31536000\n  ! X-Robots-Tag\n";
 * const rules = parseHeadersFile(text);
 * rules[0].set; // { "cache-control": "max-age=31536000" }
 * rules[0].remove; // ["x-robots-tag"]
 * ```
 */
export function parseHeadersFile(text: string, file = "_headers"): HeaderRule[] {
  const blocks: Block[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const where = `${file}:${i + 1}`;
    const content = line.trim();
    if (content === "" || content.startsWith("#")) continue;
    if (line[0] !== " " && line[0] !== "\t") {
      compilePattern(content, where);
      blocks.push({ path: content, origin: where, set: new Map(), remove: [] });
      continue;
    }
    const block = blocks.at(-1);
    if (block === undefined) {
      throw new RuleError(where, "expected a path such as /* before the first field");
    }
    readField(block, content, where);
  }
  return blocks
    .filter((b) => b.set.size > 0 || b.remove.length > 0)
    .map((b) => ({
      path: b.path,
      set: Object.fromEntries(b.set),
      add: {},
      remove: b.remove,
      origin: b.origin,
    }));
}

/** Adds an indented line, `Name: value` or `! Name`, to its block. */
function readField(block: Block, content: string, where: string): void {
  if (content.startsWith("!")) {
    const name = checkFieldName(content.slice(1).trim(), where);
    if (!block.remove.includes(name)) block.remove.push(name);
    return;
  }
  const colon = content.indexOf(":");
  if (colon === -1) {
    throw new RuleError(where, `expected Name: value or ! Name, not ${JSON.stringify(content)}`);
  }
  const name = checkFieldName(content.slice(0, colon), where);
  const value = content.slice(colon + 1).trim();
  checkFieldValue(value, where);
  const before = block.set.get(name);
  if (before !== undefined && name === "set-cookie") {
    throw new RuleError(where, "expected Set-Cookie once under a path; cookies cannot be joined");
  }
  block.set.set(name, before === undefined ? value : `${before}, ${value}`);
}
