import { assertEquals } from "../_deps.ts";
import { concat } from "../../lib/bytes.ts";
import { documentStart, LIVE_SCRIPT_TAG, ScriptInserter } from "../../lib/dev/inject.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A short tag, so the expected outputs stay readable. */
const TAG = "<S>";

/** The document with the tag inserted, fed to the inserter in pieces of `size` bytes. */
function insertInPieces(html: string, size: number): string {
  const inserter = new ScriptInserter(encoder.encode(TAG));
  const bytes = encoder.encode(html);
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    out.push(...inserter.push(bytes.subarray(at, at + size)));
  }
  out.push(...inserter.finish());
  return decoder.decode(concat(out));
}

/** [what the case is, the document, the document with the tag inserted]. */
const PLACES: readonly [string, string, string][] = [
  ["before </body>", "<body><p>x</p></body></html>", "<body><p>x</p><S></body></html>"],
  ["before </html> without a body end", "<html><p>x</html>", "<html><p>x<S></html>"],
  ["at the end without either", "<!doctype html><p>x", "<!doctype html><p>x<S>"],
  ["uppercase tags", "<HTML><BODY>x</BODY></HTML>", "<HTML><BODY>x<S></BODY></HTML>"],
  ["mixed case and space", "<body>x</Body >", "<body>x<S></Body >"],
  ["the first </body>", "<body>a</body>b</body>", "<body>a<S></body>b</body>"],
  ["not in a comment", "<body><!-- </body> --></body>", "<body><!-- </body> --><S></body>"],
  [
    "not in a comment with dashes",
    "<body><!-- a -- </body> ---></body>",
    "<body><!-- a -- </body> ---><S></body>",
  ],
  ["after an empty comment", "<body><!--></body>", "<body><!--><S></body>"],
  [
    "not in a script string",
    '<body><script>document.write("</body>")</script></body>',
    '<body><script>document.write("</body>")</script><S></body>',
  ],
  [
    "not in a script with attributes",
    "<body><script type=module>x='</html>'</script ></body>",
    "<body><script type=module>x='</html>'</script ><S></body>",
  ],
  [
    "not in an uppercase script",
    "<body><SCRIPT>'</body>'</SCRIPT></body>",
    "<body><SCRIPT>'</body>'</SCRIPT><S></body>",
  ],
  [
    "not in a style",
    "<style>/* </body> */</style></body>",
    "<style>/* </body> */</style><S></body>",
  ],
  [
    "not in a textarea",
    "<textarea></body></textarea></body>",
    "<textarea></body></textarea><S></body>",
  ],
  ["not in a title", "<title></html></title></html>", "<title></html></title><S></html>"],
  [
    "not in an attribute value",
    "<body><a title=\"</body>\" href='</html>'>x</a></body>",
    "<body><a title=\"</body>\" href='</html>'>x</a><S></body>",
  ],
  [
    "a script element is not a body end",
    "<body><scripts></scripts></body>",
    "<body><scripts></scripts><S></body>",
  ],
  ["</bodyx> is not </body>", "<body></bodyx></body>", "<body></bodyx><S></body>"],
  ["</ body> is not an end tag", "<body></ body>x", "<body></ body>x<S>"],
  ["a lone < in text", "<body>a < b <</body>", "<body>a < b <<S></body>"],
  [
    "a self-closing script still opens raw text",
    "<script/>'</body>'</script></body>",
    "<script/>'</body>'</script><S></body>",
  ],
  ["a doctype", "<!DOCTYPE html></html>", "<!DOCTYPE html><S></html>"],
  ["UTF-8 right before", "<body>été 日本</body>", "<body>été 日本<S></body>"],
  ["UTF-8 right after", "<body>x</body>ü€", "<body>x<S></body>ü€"],
  ["an empty document", "", "<S>"],
];

for (const [name, html, expected] of PLACES) {
  Deno.test(`ScriptInserter inserts ${name}`, () => {
    assertEquals(insertInPieces(html, Infinity), expected);
    for (const size of [1, 2, 3, 5, 7]) {
      assertEquals(insertInPieces(html, size), expected, `${size}`);
    }
  });
}

Deno.test("ScriptInserter passes every byte through once, with the tag once", () => {
  const html = `<!doctype html><body>${"<p>été</p>".repeat(5000)}</body></html>`;
  const out = encoder.encode(insertInPieces(html, 4093));
  assertEquals(out.length, encoder.encode(html).length + TAG.length);
  assertEquals(decoder.decode(out).split(TAG).length, 2);
});

Deno.test("ScriptInserter inserts nothing more after the tag is placed", () => {
  const inserter = new ScriptInserter(encoder.encode(TAG));
  const first = inserter.push(encoder.encode("<body></body>"));
  assertEquals(inserter.inserted, true);
  assertEquals(decoder.decode(concat(first)), "<body><S></body>");
  assertEquals(decoder.decode(concat(inserter.push(encoder.encode("</body>")))), "</body>");
  assertEquals(inserter.finish(), []);
});

Deno.test("ScriptInserter holds back only a possible end tag across chunks", () => {
  const inserter = new ScriptInserter(encoder.encode(TAG));
  assertEquals(decoder.decode(concat(inserter.push(encoder.encode("<p>hi</p></bo")))), "<p>hi</p>");
  assertEquals(decoder.decode(concat(inserter.push(encoder.encode("dy>")))), "<S></body>");
});

/** [the body's first bytes, whether complete, the verdict]. */
const STARTS: readonly [string, boolean, string][] = [
  ["<!doctype html>", false, "document"],
  ["<!DOCTYPE html><p>", true, "document"],
  ["\ufeff<!doctype html>", true, "document"],
  ["  \n\t<html lang=en>", true, "document"],
  ["<!-- built -->\n<html>", true, "document"],
  ["<head><title>x", true, "document"],
  ["<body>", true, "document"],
  ["<title>Page</title><p>x", true, "document"],
  ['<meta charset="utf-8"><title>x</title>', true, "document"],
  ["<HTML>", true, "document"],
  ["<li>one</li><li>two</li>", true, "fragment"],
  ["<header>x</header>", true, "fragment"],
  ["<div>", true, "fragment"],
  ["plain text", true, "fragment"],
  ["", true, "fragment"],
  ["", false, "undecided"],
  ["   ", false, "undecided"],
  ["<!-- an unfinished comment", false, "undecided"],
  ["<!-- an unfinished comment", true, "fragment"],
  ["<ht", false, "undecided"],
  ["<ht", true, "fragment"],
  ["<html", false, "undecided"],
  ["<html", true, "fragment"],
  ["<he", false, "undecided"],
  ["<x", false, "fragment"],
];

for (const [start, complete, verdict] of STARTS) {
  Deno.test(`documentStart() calls ${JSON.stringify(start)}${complete ? "" : "…"} ${verdict}`, () => {
    assertEquals(documentStart(encoder.encode(start), complete), verdict);
  });
}

Deno.test("LIVE_SCRIPT_TAG loads the live-reload script", () => {
  assertEquals(decoder.decode(LIVE_SCRIPT_TAG), '<script src="/.portico/live.js"></script>');
});
