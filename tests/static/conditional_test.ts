import { assert, assertEquals, assertNotEquals } from "../_deps.ts";
import {
  evaluatePreconditions,
  fileEtag,
  ifRangeAllows,
  parseEtagList,
  parseHttpDate,
  type Precondition,
  type Validators,
} from "../../lib/static/conditional.ts";

const MTIME = new Date("2024-03-01T12:00:00.000Z");
const NOW = new Date("2024-06-01T00:00:00.000Z");
const ETAG = fileEtag(1234, MTIME);
const VALIDATORS: Validators = { etag: ETAG, lastModified: MTIME };

const EARLIER = "Thu, 29 Feb 2024 12:00:00 GMT";
const SAME = "Fri, 01 Mar 2024 12:00:00 GMT";
const LATER = "Sat, 02 Mar 2024 12:00:00 GMT";
const FUTURE = "Tue, 01 Jun 2100 00:00:00 GMT";

function evaluate(
  method: string,
  fields: Record<string, string>,
  validators: Validators = VALIDATORS,
): Precondition {
  return evaluatePreconditions(method, new Headers(fields), validators, NOW);
}

Deno.test("fileEtag() is a quoted strong tag that changes with size and mtime", () => {
  assertEquals(fileEtag(12, new Date(0)), '"0-c"');
  assertEquals(fileEtag(12, null), '"0-c"');
  assertEquals(fileEtag(1234, MTIME), fileEtag(1234, new Date(MTIME.getTime())));
  assertNotEquals(fileEtag(1234, MTIME), fileEtag(1235, MTIME));
  assertNotEquals(fileEtag(1234, MTIME), fileEtag(1234, new Date(MTIME.getTime() + 1000)));
  assertNotEquals(fileEtag(1234, MTIME), fileEtag(1234, new Date(MTIME.getTime() + 1)));
  assert(/^"[0-9a-f]+-[0-9a-f]+"$/.test(ETAG), ETAG);
});

Deno.test("parseHttpDate() accepts IMF-fixdate, RFC 850 and asctime forms", () => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
  for (
    const value of [
      "Sun, 06 Nov 1994 08:49:37 GMT",
      "Sunday, 06-Nov-94 08:49:37 GMT",
      "Sun Nov  6 08:49:37 1994",
      "  Sun, 06 Nov 1994 08:49:37 GMT  ",
    ]
  ) {
    assertEquals(parseHttpDate(value)?.getTime(), expected, value);
  }
  assertEquals(parseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT")?.getTime(), 0);
});

Deno.test("parseHttpDate() rejects garbage and other zones", () => {
  for (
    const value of [
      "",
      "garbage",
      "0",
      "1994-11-06T08:49:37Z",
      "Sun, 06 Nov 1994",
      "Sun, 06 Nov 1994 08:49 GMT",
      "Sun, 06 Nov 1994 25:49:37 GMT",
      "Mon, 32 Nov 1994 08:49:37 GMT",
      "Sun, 06 Foo 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 08:49:37 GMT extra",
      "Sun, 06 Nov 1994 08:49:37 PST",
      "Sun, 06 Nov 1994 08:49:37 +0100",
      "Sun, 06 Nov 1994 08:49:37",
    ]
  ) {
    assertEquals(parseHttpDate(value), null, value);
  }
});

Deno.test("parseEtagList() splits lists, keeps W/ and tolerates empty members", () => {
  const cases: [string, "*" | string[]][] = [
    ["*", "*"],
    [" * ", "*"],
    ['"a"', ['"a"']],
    ['"a", W/"b" ,"c"', ['"a"', 'W/"b"', '"c"']],
    ['"a", , "b",', ['"a"', '"b"']],
    [', "a"', ['"a"']],
    ['""', ['""']],
    ["a", []],
    ["", []],
  ];
  for (const [value, expected] of cases) assertEquals(parseEtagList(value), expected, value);
});

Deno.test("evaluatePreconditions() proceeds without conditional fields", () => {
  for (const method of ["GET", "HEAD", "PUT"]) assertEquals(evaluate(method, {}), "proceed");
});

Deno.test("evaluatePreconditions() applies If-Match with strong comparison", () => {
  const cases: [string, Precondition][] = [
    [ETAG, "proceed"],
    ["*", "proceed"],
    [`"other", ${ETAG}`, "proceed"],
    ['"other"', "failed"],
    // A weak tag never matches strongly, even with the same opaque part.
    [`W/${ETAG}`, "failed"],
    ["not-a-tag", "failed"],
  ];
  for (const [value, expected] of cases) {
    for (const method of ["GET", "HEAD", "PUT"]) {
      assertEquals(evaluate(method, { "if-match": value }), expected, `${method} ${value}`);
    }
  }
});

Deno.test("evaluatePreconditions() applies If-Unmodified-Since when If-Match is absent", () => {
  assertEquals(evaluate("GET", { "if-unmodified-since": EARLIER }), "failed");
  assertEquals(evaluate("GET", { "if-unmodified-since": SAME }), "proceed");
  assertEquals(evaluate("GET", { "if-unmodified-since": LATER }), "proceed");
  assertEquals(evaluate("GET", { "if-unmodified-since": "garbage" }), "proceed");
  // Step 2 is skipped when If-Match is present (RFC 9110 §13.2.2).
  assertEquals(evaluate("GET", { "if-match": ETAG, "if-unmodified-since": EARLIER }), "proceed");
  assertEquals(
    evaluate("GET", { "if-unmodified-since": EARLIER }, { etag: ETAG, lastModified: null }),
    "proceed",
  );
});

Deno.test("evaluatePreconditions() compares If-Modified-Since at one-second resolution", () => {
  const withMillis = { etag: ETAG, lastModified: new Date(MTIME.getTime() + 999) };
  assertEquals(evaluate("GET", { "if-modified-since": SAME }, withMillis), "not-modified");
  assertEquals(evaluate("GET", { "if-unmodified-since": SAME }, withMillis), "proceed");
});

Deno.test("evaluatePreconditions() applies If-None-Match with weak comparison", () => {
  const cases: [string, Precondition][] = [
    [ETAG, "not-modified"],
    [`W/${ETAG}`, "not-modified"],
    [`"x", "y", ${ETAG}`, "not-modified"],
    ["*", "not-modified"],
    ['"x"', "proceed"],
    ['"x", "y"', "proceed"],
  ];
  for (const [value, expected] of cases) {
    for (const method of ["GET", "HEAD"]) {
      assertEquals(evaluate(method, { "if-none-match": value }), expected, `${method} ${value}`);
    }
    // Other methods fail instead of answering 304.
    for (const method of ["PUT", "POST", "DELETE"]) {
      const other = expected === "not-modified" ? "failed" : "proceed";
      assertEquals(evaluate(method, { "if-none-match": value }), other, `${method} ${value}`);
    }
  }
});

Deno.test("evaluatePreconditions() applies If-Modified-Since only to GET and HEAD", () => {
  const cases: [string, Precondition][] = [
    [SAME, "not-modified"],
    [LATER, "not-modified"],
    [EARLIER, "proceed"],
    ["garbage", "proceed"],
    ["", "proceed"],
    // A date in the future is not a date the client got from us.
    [FUTURE, "proceed"],
  ];
  for (const [value, expected] of cases) {
    assertEquals(evaluate("GET", { "if-modified-since": value }), expected, value);
    assertEquals(evaluate("HEAD", { "if-modified-since": value }), expected, value);
    assertEquals(evaluate("PUT", { "if-modified-since": value }), "proceed", value);
  }
  assertEquals(
    evaluate("GET", { "if-modified-since": LATER }, { etag: ETAG, lastModified: null }),
    "proceed",
  );
});

Deno.test("evaluatePreconditions() ignores If-Modified-Since when If-None-Match is present", () => {
  assertEquals(evaluate("GET", { "if-none-match": '"x"', "if-modified-since": LATER }), "proceed");
  assertEquals(
    evaluate("GET", { "if-none-match": ETAG, "if-modified-since": EARLIER }),
    "not-modified",
  );
});

Deno.test("evaluatePreconditions() checks in RFC 9110 §13.2.2 order", () => {
  // If-Match failing wins over a matching If-None-Match.
  assertEquals(evaluate("GET", { "if-match": '"x"', "if-none-match": ETAG }), "failed");
  // If-Unmodified-Since failing wins over If-None-Match and If-Modified-Since.
  assertEquals(
    evaluate("GET", { "if-unmodified-since": EARLIER, "if-none-match": ETAG }),
    "failed",
  );
  assertEquals(
    evaluate("GET", { "if-unmodified-since": EARLIER, "if-modified-since": LATER }),
    "failed",
  );
  // If-Match passing, then If-None-Match decides.
  assertEquals(evaluate("GET", { "if-match": ETAG, "if-none-match": ETAG }), "not-modified");
  assertEquals(evaluate("GET", { "if-match": "*", "if-modified-since": LATER }), "not-modified");
});

Deno.test("ifRangeAllows() wants a strong tag match or the exact date", () => {
  const cases: [string | null, boolean][] = [
    [null, true],
    [ETAG, true],
    [` ${ETAG} `, true],
    [`W/${ETAG}`, false],
    ['"other"', false],
    [SAME, true],
    [EARLIER, false],
    [LATER, false],
    ["garbage", false],
    ["", false],
  ];
  for (const [value, expected] of cases) {
    assertEquals(ifRangeAllows(value, VALIDATORS), expected, String(value));
  }
  // Without a modification time no date can match.
  assertEquals(ifRangeAllows(SAME, { etag: ETAG, lastModified: null }), false);
  // The date is compared in whole seconds.
  const withMillis = { etag: ETAG, lastModified: new Date(MTIME.getTime() + 500) };
  assertEquals(ifRangeAllows(SAME, withMillis), true);
});
