import { assertEquals } from "../_deps.ts";
import { isCompressible } from "../../lib/encoding/compressible.ts";
import { mediaTypeOf } from "../../lib/static/media_type.ts";

Deno.test("isCompressible() answers a table of media types", () => {
  const cases: [string | null, boolean][] = [
    // Every text type.
    ["text/html", true],
    ["text/css", true],
    ["text/javascript", true],
    ["text/plain", true],
    ["text/markdown", true],
    ["text/csv", true],
    ["text/xml", true],
    ["text/event-stream", true],
    ["text/x-anything-new", true],
    // Scripts and structured text.
    ["application/javascript", true],
    ["application/x-javascript", true],
    ["application/ecmascript", true],
    ["application/json", true],
    ["application/x-ndjson", true],
    ["application/xml", true],
    ["application/toml", true],
    ["application/yaml", true],
    ["application/x-yaml", true],
    // +json and +xml suffixes (RFC 6838 §4.2.8).
    ["application/ld+json", true],
    ["application/manifest+json", true],
    ["application/problem+json", true],
    ["application/graphql-response+json", true],
    ["application/atom+xml", true],
    ["application/rss+xml", true],
    ["application/xhtml+xml", true],
    ["image/svg+xml", true],
    ["application/+json", false],
    ["application/json+zip", false],
    // Uncompressed binary formats.
    ["application/wasm", true],
    ["image/x-icon", true],
    ["image/vnd.microsoft.icon", true],
    ["image/bmp", true],
    ["font/ttf", true],
    ["font/otf", true],
    ["font/collection", true],
    ["application/x-font-ttf", true],
    ["application/vnd.ms-fontobject", true],
    // Compressed already, opaque or made of parts.
    ["font/woff", false],
    ["font/woff2", false],
    ["image/png", false],
    ["image/jpeg", false],
    ["image/gif", false],
    ["image/webp", false],
    ["image/avif", false],
    ["audio/mpeg", false],
    ["audio/ogg", false],
    ["video/mp4", false],
    ["video/webm", false],
    ["application/zip", false],
    ["application/gzip", false],
    ["application/x-brotli", false],
    ["application/zstd", false],
    ["application/x-7z-compressed", false],
    ["application/pdf", false],
    ["application/octet-stream", false],
    ["multipart/form-data; boundary=x", false],
    ["multipart/byteranges; boundary=x", false],
    ["application/x-sh", false],
    // Parameters, case and whitespace.
    ["text/html; charset=utf-8", true],
    ["application/json;charset=UTF-8", true],
    ["image/svg+xml; charset=utf-8", true],
    ["image/png; foo=bar", false],
    ["TEXT/HTML", true],
    ["Application/JSON; Charset=UTF-8", true],
    ["Image/SVG+XML", true],
    ["IMAGE/PNG", false],
    ["  text/css  ", true],
    ["\ttext/css ; charset=utf-8", true],
    // Not a media type.
    [null, false],
    ["", false],
    ["   ", false],
    ["text", false],
    ["text/", false],
    ["/html", false],
    ["text/ html", false],
    ["text /html", false],
    ["text/html/extra", false],
    ["; charset=utf-8", false],
  ];
  for (const [type, expected] of cases) {
    assertEquals(isCompressible(type), expected, JSON.stringify(type));
  }
});

Deno.test("isCompressible() agrees with mediaTypeOf() for common extensions", () => {
  const compressible = [
    ".html",
    ".css",
    ".js",
    ".mjs",
    ".json",
    ".svg",
    ".txt",
    ".md",
    ".xml",
    ".wasm",
    ".ico",
    ".webmanifest",
  ];
  const incompressible = [
    ".png",
    ".jpg",
    ".gif",
    ".webp",
    ".avif",
    ".woff",
    ".woff2",
    ".mp4",
    ".mp3",
    ".zip",
    ".gz",
    ".br",
    ".pdf",
  ];
  for (const ext of compressible) {
    const type = mediaTypeOf(`file${ext}`);
    assertEquals(isCompressible(type), true, `${ext} ${type}`);
  }
  for (const ext of incompressible) {
    const type = mediaTypeOf(`file${ext}`);
    assertEquals(isCompressible(type), false, `${ext} ${type}`);
  }
});
