import { assert, assertEquals } from "../_deps.ts";
import { DEFAULT_MEDIA_TYPE, mediaTypeOf } from "../../lib/static/media_type.ts";

Deno.test("mediaTypeOf() maps common extensions", () => {
  const cases: [string, string][] = [
    ["index.html", "text/html; charset=utf-8"],
    ["page.htm", "text/html; charset=utf-8"],
    ["style.css", "text/css; charset=utf-8"],
    ["app.js", "text/javascript; charset=utf-8"],
    ["module.mjs", "text/javascript; charset=utf-8"],
    ["data.json", "application/json; charset=utf-8"],
    ["image.svg", "image/svg+xml"],
    ["photo.png", "image/png"],
    ["photo.jpg", "image/jpeg"],
    ["favicon.ico", "image/vnd.microsoft.icon"],
    ["notes.txt", "text/plain; charset=utf-8"],
    ["notes.md", "text/markdown; charset=utf-8"],
    ["module.wasm", "application/wasm"],
  ];
  for (const [name, expected] of cases) assertEquals(mediaTypeOf(name), expected, name);
});

Deno.test("mediaTypeOf() sends unknown and missing extensions as octet-stream", () => {
  assertEquals(DEFAULT_MEDIA_TYPE, "application/octet-stream");
  for (const name of ["file.qqqzz", "Makefile", "README", ".env", "archive.", "dir.d/noext"]) {
    assertEquals(mediaTypeOf(name), DEFAULT_MEDIA_TYPE, name);
  }
});

Deno.test("mediaTypeOf() ignores the case of the extension", () => {
  assertEquals(mediaTypeOf("INDEX.HTML"), "text/html; charset=utf-8");
  assertEquals(mediaTypeOf("Style.Css"), "text/css; charset=utf-8");
  assertEquals(mediaTypeOf("LOGO.PNG"), "image/png");
});

Deno.test("mediaTypeOf() looks at the last extension of the file name only", () => {
  assertEquals(mediaTypeOf("docs/guide.html"), "text/html; charset=utf-8");
  assertEquals(mediaTypeOf("archive.tar.gz"), "application/gzip");
  assertEquals(mediaTypeOf("page.html.bak"), DEFAULT_MEDIA_TYPE);
  assertEquals(mediaTypeOf("a.html/readme"), DEFAULT_MEDIA_TYPE);
});

Deno.test("mediaTypeOf() ends text types in a lower-case charset=utf-8", () => {
  for (const name of ["a.html", "a.css", "a.js", "a.json", "a.txt", "a.md", "a.csv", "a.xml"]) {
    const type = mediaTypeOf(name);
    if (type.startsWith("text/") || type.includes("charset")) {
      assert(type.endsWith("; charset=utf-8"), `${name}: ${type}`);
      assert(!/UTF-8/.test(type), `${name}: ${type}`);
    }
  }
  // Binary types carry no charset.
  for (const name of ["a.png", "a.wasm", "a.bin"]) {
    assert(!mediaTypeOf(name).includes("charset"), name);
  }
});
