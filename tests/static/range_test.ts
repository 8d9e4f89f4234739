import { assertEquals } from "../_deps.ts";
import {
  type ByteRange,
  contentRange,
  MAX_RANGES,
  multipartLayout,
  parseRange,
  type RangeDecision,
} from "../../lib/static/range.ts";

const FULL: RangeDecision = { kind: "full" };
const UNSATISFIABLE: RangeDecision = { kind: "unsatisfiable" };

function partial(...pairs: [number, number][]): RangeDecision {
  return { kind: "partial", ranges: pairs.map(([start, end]) => ({ start, end })) };
}

Deno.test("parseRange() answers single byte ranges", () => {
  const cases: [string, RangeDecision][] = [
    ["bytes=0-1", partial([0, 1])],
    ["bytes=0-0", partial([0, 0])],
    ["bytes=5-9", partial([5, 9])],
    ["bytes=9-9", partial([9, 9])],
    ["bytes=3-", partial([3, 9])],
    ["bytes=0-", partial([0, 9])],
    ["bytes=-3", partial([7, 9])],
    ["bytes=-10", partial([0, 9])],
    // Past the end: clamped (RFC 9110 §14.1.2).
    ["bytes=5-100", partial([5, 9])],
    ["bytes=-100", partial([0, 9])],
    ["bytes=0-999999999999999", partial([0, 9])],
    // The unit is case-insensitive.
    ["Bytes=0-1", partial([0, 1])],
    ["BYTES=0-1", partial([0, 1])],
  ];
  for (const [header, expected] of cases) assertEquals(parseRange(header, 10), expected, header);
});

Deno.test("parseRange() ignores other units and malformed headers", () => {
  for (
    const header of [
      "",
      "bytes",
      "bytes=",
      "bytes= ",
      "bytes=,",
      "items=0-1",
      "bites=0-1",
      "bytes=abc",
      "bytes=1",
      "bytes=-",
      "bytes=a-b",
      "bytes=1-a",
      "bytes=--1",
      "bytes=1--2",
      "bytes=+1-2",
      "bytes=0x1-2",
      "bytes=1.0-2",
      "bytes=0 - 1",
      "bytes=0-1,x",
      "bytes=0-1;bytes=2-3",
      // Last before first: invalid, so the header is ignored.
      "bytes=5-2",
      // Numbers too long to be exact.
      "bytes=1234567890123456-",
    ]
  ) {
    assertEquals(parseRange(header, 10), FULL, header);
  }
});

Deno.test("parseRange() answers unsatisfiable when no range overlaps the file", () => {
  const cases: [string, number][] = [
    ["bytes=10-", 10],
    ["bytes=10-20", 10],
    ["bytes=100-", 10],
    ["bytes=-0", 10],
    ["bytes=-0,-0", 10],
    ["bytes=10-,20-", 10],
    ["bytes=0-", 0],
    ["bytes=0-0", 0],
    ["bytes=-5", 0],
  ];
  for (const [header, size] of cases) {
    assertEquals(parseRange(header, size), UNSATISFIABLE, `${header} of ${size}`);
  }
});

Deno.test("parseRange() drops members past the end and keeps the rest", () => {
  assertEquals(parseRange("bytes=0-1,20-30", 10), partial([0, 1]));
  assertEquals(parseRange("bytes=-0,8-", 10), partial([8, 9]));
});

Deno.test("parseRange() answers several ranges in the order asked", () => {
  assertEquals(parseRange("bytes=0-1,4-5", 10), partial([0, 1], [4, 5]));
  assertEquals(parseRange("bytes=6-7,0-1,-1", 10), partial([6, 7], [0, 1], [9, 9]));
  // Adjacent ranges do not overlap.
  assertEquals(parseRange("bytes=0-4,5-9", 10), partial([0, 4], [5, 9]));
});

Deno.test("parseRange() tolerates whitespace and empty members", () => {
  const cases: [string, RangeDecision][] = [
    ["bytes=0-1, 4-5", partial([0, 1], [4, 5])],
    ["bytes= 0-1 ,\t4-5 ", partial([0, 1], [4, 5])],
    ["bytes=0-1,,4-5,", partial([0, 1], [4, 5])],
    ["bytes=,0-1", partial([0, 1])],
    [" bytes =0-1", partial([0, 1])],
  ];
  for (const [header, expected] of cases) assertEquals(parseRange(header, 10), expected, header);
});

Deno.test("parseRange() answers the whole file to requests that look like abuse", () => {
  const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 2}-${i * 2}`).join(",");
  assertEquals(parseRange(`bytes=${many}`, 1000), FULL);
  const limit = Array.from({ length: MAX_RANGES }, (_, i) => `${i * 2}-${i * 2}`).join(",");
  assertEquals(parseRange(`bytes=${limit}`, 1000).kind, "partial");
  const cases = [
    "bytes=0-5,3-8", // overlapping
    "bytes=0-9,2-3", // one contains another
    "bytes=5-6,0-5", // overlapping, out of order
    "bytes=0-1,0-1", // repeated
    "bytes=-5,5-", // suffix overlapping
  ];
  for (const header of cases) assertEquals(parseRange(header, 10), FULL, header);
});

Deno.test("contentRange() formats one range", () => {
  assertEquals(contentRange({ start: 0, end: 1 }, 10), "bytes 0-1/10");
  assertEquals(contentRange({ start: 9, end: 9 }, 10), "bytes 9-9/10");
});

Deno.test("multipartLayout() length equals the body it describes", () => {
  const content = new Uint8Array(100).map((_, i) => (i * 31 + 7) & 255);
  const cases: ByteRange[][] = [
    [{ start: 0, end: 0 }],
    [{ start: 0, end: 1 }, { start: 50, end: 99 }],
    [{ start: 90, end: 99 }, { start: 0, end: 9 }, { start: 20, end: 20 }],
  ];
  for (const ranges of cases) {
    const layout = multipartLayout(ranges, content.length, "text/plain; charset=utf-8", "b0und");
    assertEquals(layout.contentType, "multipart/byteranges; boundary=b0und");
    const chunks: Uint8Array[] = [];
    const encoder = new TextEncoder();
    for (const part of layout.parts) {
      chunks.push(
        encoder.encode(part.head),
        content.subarray(part.range.start, part.range.end + 1),
      );
    }
    chunks.push(encoder.encode(layout.tail));
    const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    assertEquals(layout.length, body.length);
    assertEquals(layout.parts.map((part) => part.range), ranges);

    const text = new TextDecoder("latin1").decode(body);
    // The first boundary starts the body; each later one follows a CRLF.
    assertEquals(text.startsWith("--b0und\r\n"), true);
    assertEquals(text.endsWith("\r\n--b0und--\r\n"), true);
    assertEquals(text.split("\r\n--b0und\r\n").length, ranges.length);
    for (const range of ranges) {
      const field = `content-range: ${contentRange(range, content.length)}\r\n`;
      assertEquals(text.includes(field), true, field);
    }
  }
});
