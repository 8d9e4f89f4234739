import { assertEquals } from "../_deps.ts";
import { fileEtag } from "../../lib/static/conditional.ts";
import {
  fileHeaders,
  fileRepresentation,
  fileValidators,
  notModifiedHeaders,
  pageRepresentation,
} from "../../lib/static/headers.ts";
import { statOf } from "./_static.ts";

const MTIME = new Date("2024-05-06T07:08:09.123Z");

Deno.test("fileValidators() derive the entity tag from size and modification time", () => {
  assertEquals(fileValidators(statOf(12, MTIME)), {
    etag: fileEtag(12, MTIME),
    lastModified: MTIME,
  });
  assertEquals(fileValidators(statOf(12, 0, { mtime: null })), {
    etag: fileEtag(12, null),
    lastModified: null,
  });
});

Deno.test("fileHeaders() builds content-type, nosniff, accept-ranges, etag and last-modified, and no framing", () => {
  const validators = fileValidators(statOf(12, MTIME));
  assertEquals([...fileHeaders("text/plain", validators)], [
    ["accept-ranges", "bytes"],
    ["content-type", "text/plain"],
    ["etag", validators.etag],
    ["last-modified", "Mon, 06 May 2024 07:08:09 GMT"],
    ["x-content-type-options", "nosniff"],
  ]);
  const noDate = fileValidators(statOf(12, 0, { mtime: null }));
  assertEquals(fileHeaders("text/plain", noDate).get("last-modified"), null);
});

Deno.test("fileHeaders() without validators gives only the content type and nosniff", () => {
  assertEquals([...fileHeaders("text/html", null)], [
    ["content-type", "text/html"],
    ["x-content-type-options", "nosniff"],
  ]);
});

Deno.test("fileHeaders() returns a new set each time", () => {
  const validators = fileValidators(statOf(1, MTIME));
  const a = fileHeaders("text/plain", validators);
  a.set("x-changed", "1");
  assertEquals(fileHeaders("text/plain", validators).get("x-changed"), null);
});

Deno.test("notModifiedHeaders() keeps the 200's fields but Content-Type, in a copy", () => {
  const headers = fileHeaders("text/plain", fileValidators(statOf(12, MTIME)));
  const copy = notModifiedHeaders(headers);
  assertEquals([...copy], [...headers].filter(([name]) => name !== "content-type"));
  assertEquals(headers.get("content-type"), "text/plain", "the original is unchanged");
});

Deno.test("fileRepresentation() is a 200 with validators; pageRepresentation() has none", () => {
  const stat = statOf(12, MTIME);
  const file = fileRepresentation(stat, "text/plain");
  assertEquals(file.status, 200);
  assertEquals(file.size, 12);
  assertEquals(file.validators, fileValidators(stat));
  assertEquals([...file.headers], [...fileHeaders("text/plain", fileValidators(stat))]);
  const page = pageRepresentation(66, "text/html", 404);
  assertEquals([page.status, page.size, page.validators], [404, 66, null]);
  assertEquals([...page.headers], [...fileHeaders("text/html", null)]);
});
