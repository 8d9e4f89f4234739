import {
  ACCESS_FORMATTERS,
  type AccessLogEntry,
  clientAddress,
  commonLogTime,
  consoleLogger,
  escapeLogValue,
  formatAccessLine,
  formatCombinedLine,
  formatJsonLine,
  LineWriter,
  LOG_FORMATS,
  type LogSink,
  wholeLineChunks,
} from "../lib/log.ts";
import { assert, assertEquals } from "./_deps.ts";
import { concat } from "./_bytes.ts";
import { until } from "./_helpers.ts";

/** When the golden responses end: 7 December 2026, 13:00:45.250 UTC. */
const NOW = new Date(Date.UTC(2026, 11, 7, 13, 0, 45, 250));

const ENTRY: AccessLogEntry = {
  remote: "192.0.2.7",
  method: "GET",
  target: "/docs/a%20b?q=1",
  protocol: "HTTP/1.1",
  status: 200,
  bytes: 5120,
  milliseconds: 1500.4567,
  userAgent: "Mozilla/5.0 (X11; Linux x86_64)",
  referrer: "https://example.com/start",
  requestId: "0abcdefghi-1z",
};

/** A request that could not be parsed, as the exchange records it. */
const UNPARSED: AccessLogEntry = {
  remote: "2001:db8::9",
  method: "-",
  target: "-",
  protocol: "-",
  status: 400,
  bytes: 11,
  milliseconds: 0.25,
  userAgent: null,
  referrer: null,
  requestId: "0abcdefghi-20",
};

Deno.test("formatAccessLine() writes the text format with the time it is given", () => {
  assertEquals(
    formatAccessLine(ENTRY, NOW),
    "2026-12-07T13:00:45.250Z 192.0.2.7 GET /docs/a%20b?q=1 200 5120 1500.46ms",
  );
  assertEquals(
    formatAccessLine({ ...UNPARSED, incomplete: true }, NOW),
    "2026-12-07T13:00:45.250Z 2001:db8::9 - - 400 11 0.25ms incomplete",
  );
});

Deno.test("formatCombinedLine() writes nginx's combined format, timed from the request's arrival", () => {
  const cases: Array<[string, AccessLogEntry, string]> = [
    [
      "a full entry: arrived 1.5 s before NOW",
      ENTRY,
      '192.0.2.7 - - [07/Dec/2026:13:00:43 +0000] "GET /docs/a%20b?q=1 HTTP/1.1" 200 5120 ' +
      '"https://example.com/start" "Mozilla/5.0 (X11; Linux x86_64)"',
    ],
    [
      "missing fields are -, an unparsed request is -",
      UNPARSED,
      '2001:db8::9 - - [07/Dec/2026:13:00:45 +0000] "-" 400 11 "-" "-"',
    ],
    [
      "an empty field is an empty string, HTTP/1.0 as sent",
      { ...ENTRY, protocol: "HTTP/1.0", method: "HEAD", bytes: 0, userAgent: "", referrer: null },
      '192.0.2.7 - - [07/Dec/2026:13:00:43 +0000] "HEAD /docs/a%20b?q=1 HTTP/1.0" 200 0 "-" ""',
    ],
    [
      "quotes, backslashes, controls and Latin-1 bytes are \\xHH",
      { ...ENTRY, target: '/"x"', userAgent: 'a"b\\c\td\x7fé', referrer: "\x00" },
      '192.0.2.7 - - [07/Dec/2026:13:00:43 +0000] "GET /\\x22x\\x22 HTTP/1.1" 200 5120 ' +
      '"\\x00" "a\\x22b\\x5Cc\\x09d\\x7F\\xE9"',
    ],
  ];
  for (const [what, entry, line] of cases) assertEquals(formatCombinedLine(entry, NOW), line, what);
});

Deno.test("formatJsonLine() writes one object with the documented keys", () => {
  assertEquals(
    formatJsonLine(ENTRY, NOW),
    '{"time":"2026-12-07T13:00:45.250Z","client":"192.0.2.7","method":"GET",' +
      '"target":"/docs/a%20b?q=1","protocol":"HTTP/1.1","status":200,"bytes":5120,' +
      '"duration_ms":1500.457,"user_agent":"Mozilla/5.0 (X11; Linux x86_64)",' +
      '"referrer":"https://example.com/start","request_id":"0abcdefghi-1z"}',
  );
  assertEquals(
    formatJsonLine({ ...UNPARSED, incomplete: true }, NOW),
    '{"time":"2026-12-07T13:00:45.250Z","client":"2001:db8::9","method":null,"target":null,' +
      '"protocol":null,"status":400,"bytes":11,"duration_ms":0.25,"user_agent":null,' +
      '"referrer":null,"request_id":"0abcdefghi-20","incomplete":true}',
  );
});

Deno.test("formatJsonLine() escapes what a client sends, so each line parses back", () => {
  const hostile = { ...ENTRY, target: '/a"}\n{"b', userAgent: "x\u2028y\\", referrer: "\x1b[31m" };
  const line = formatJsonLine(hostile, NOW);
  assert(!line.includes("\n"), "one line");
  const parsed = JSON.parse(line);
  assertEquals(
    [parsed.target, parsed.user_agent, parsed.referrer],
    [hostile.target, hostile.userAgent, hostile.referrer],
  );
  assertEquals("incomplete" in parsed, false);
});

Deno.test("ACCESS_FORMATTERS has a formatter for each of LOG_FORMATS", () => {
  assertEquals(Object.keys(ACCESS_FORMATTERS).sort(), [...LOG_FORMATS].sort());
  assertEquals(ACCESS_FORMATTERS.combined, formatCombinedLine);
});

Deno.test("commonLogTime() pads each part and names the month", () => {
  assertEquals(commonLogTime(new Date(0)), "01/Jan/1970:00:00:00 +0000");
  assertEquals(
    commonLogTime(new Date(Date.UTC(2026, 8, 9, 7, 5, 3, 999))),
    "09/Sep/2026:07:05:03 +0000",
  );
  assertEquals(commonLogTime(NOW), "07/Dec/2026:13:00:45 +0000");
});

Deno.test("escapeLogValue() escapes as nginx's default escaping does", () => {
  const cases: Array<[string, string]> = [
    ["plain text / ~!", "plain text / ~!"],
    ['"', "\\x22"],
    ["\\", "\\x5C"],
    ["\r\n", "\\x0D\\x0A"],
    ["\x7f\x80\xff", "\\x7F\\x80\\xFF"],
    // Beyond Latin-1 (not from a head): the character's UTF-8 bytes.
    ["€😀", "\\xE2\\x82\\xAC\\xF0\\x9F\\x98\\x80"],
    ["", ""],
  ];
  for (const [value, escaped] of cases) assertEquals(escapeLogValue(value), escaped, value);
});

Deno.test("clientAddress() writes a dual-stack socket's IPv4 clients as IPv4", () => {
  const cases: Array<[string, string]> = [
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::FFFF:192.0.2.7", "192.0.2.7"],
    ["192.0.2.7", "192.0.2.7"],
    ["::1", "::1"],
    ["2001:db8::ffff:1", "2001:db8::ffff:1"],
    ["::ffff:7f00:1", "::ffff:7f00:1"],
    ["-", "-"],
  ];
  for (const [socket, logged] of cases) assertEquals(clientAddress(socket), logged, socket);
});

Deno.test("wholeLineChunks() cuts at line ends within the size, a longer line alone", () => {
  const text = "aaaa\nbb\ncccccccccc\nd\n";
  const chunks = wholeLineChunks(new TextEncoder().encode(text), 8);
  const decoded = chunks.map((chunk) => new TextDecoder().decode(chunk));
  assertEquals(decoded, ["aaaa\nbb\n", "cccccccccc\n", "d\n"]);
  assertEquals(wholeLineChunks(new TextEncoder().encode("ab\n"), 8).length, 1);
});

/** A sink that records what it is given, writing at most `partial` bytes per call when set. */
class RecordingSink implements LogSink {
  readonly writes: Uint8Array[] = [];
  readonly syncWrites: string[] = [];
  readonly #partial: number;
  #hold: Promise<void> | null = null;

  constructor(partial = Infinity) {
    this.#partial = partial;
  }

  /** Holds every write until the returned function is called. */
  hold(): () => void {
    const held = Promise.withResolvers<void>();
    this.#hold = held.promise;
    return () => {
      this.#hold = null;
      held.resolve();
    };
  }

  async write(p: Uint8Array): Promise<number> {
    await this.#hold;
    // An asynchronous write takes a turn of the event loop, as a real one does.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const n = Math.min(p.length, this.#partial);
    this.writes.push(p.slice(0, n));
    return n;
  }

  writeSync(p: Uint8Array): number {
    this.syncWrites.push(new TextDecoder().decode(p));
    return p.length;
  }

  /** What the asynchronous writes wrote, decoded as a whole (a write may end inside a character). */
  get text(): string {
    return new TextDecoder().decode(concat(this.writes));
  }
}

Deno.test("LineWriter.write() sends the lines of one turn together, in whole-line writes", async () => {
  const sink = new RecordingSink();
  const out = new LineWriter(sink);
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ${"x".repeat(40)}`);
  for (const line of lines) out.write(line);
  assertEquals(sink.writes.length, 0, "nothing is written while the turn goes on");
  await out.flush();
  assertEquals(sink.text, lines.map((line) => `${line}\n`).join(""));
  // About 10 KiB: three writes of at most 4 KiB, each ending with a whole line.
  assertEquals(sink.writes.length, 3);
  for (const write of sink.writes) {
    assert(write.length <= 4096 && write.at(-1) === 0x0a, `${write.length} bytes`);
  }
});

Deno.test("LineWriter writes a batch by itself, shortly after its first line", async () => {
  const sink = new RecordingSink();
  const out = new LineWriter(sink);
  out.write("alone");
  await until("the batch is written", () => sink.writes.length > 0);
  assertEquals(sink.text, "alone\n");
  await out.flush();
});

Deno.test("LineWriter loses and reorders nothing when many lines come while writes are slow", async () => {
  const sink = new RecordingSink(1000);
  const out = new LineWriter(sink);
  const lines: string[] = [];
  for (let turn = 0; turn < 50; turn++) {
    for (let i = 0; i < 100; i++) {
      const line = `turn ${turn} line ${i} ü ${"y".repeat(i % 13)}`;
      lines.push(line);
      out.write(line);
    }
    // Some turns come while a write is still under way.
    if (turn % 3 === 0) {
      void out.flush();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
  await out.flush();
  assertEquals(sink.text, lines.map((line) => `${line}\n`).join(""));
  assertEquals(sink.syncWrites, []);
});

Deno.test("LineWriter writes synchronously once too much waits for a stalled sink", async () => {
  const sink = new RecordingSink();
  const release = sink.hold();
  const out = new LineWriter(sink, { maxPendingChars: 100 });
  out.write("first");
  await Promise.resolve();
  await Promise.resolve(); // the first write has begun, and is held
  const waiting = Array.from({ length: 20 }, (_, i) => `waiting line ${i}`);
  for (const line of waiting) out.write(line);
  const synchronous = sink.syncWrites.join("").split("\n").filter((line) => line !== "");
  assert(synchronous.length > 0, "the lines over the limit were written at once");
  release();
  await out.flush();
  const all = [...sink.text.split("\n"), ...synchronous].filter((line) => line !== "");
  assertEquals(all.sort(), ["first", ...waiting].sort());
});

Deno.test("LineWriter drops lines without throwing when the sink fails", async () => {
  const failing: LogSink = {
    write: () => Promise.reject(new Deno.errors.BrokenPipe("gone")),
    writeSync: () => {
      throw new Deno.errors.BrokenPipe("gone");
    },
  };
  const said: unknown[] = [];
  const error = console.error;
  console.error = (...args: unknown[]) => said.push(args.join(" "));
  try {
    const out = new LineWriter(failing);
    out.write("one");
    await out.flush();
    out.write("two");
    await out.flush();
  } finally {
    console.error = error;
  }
  assertEquals(said.length, 1, "the failure is said once");
});

Deno.test("consoleLogger() writes each entry in the chosen format", async () => {
  for (const format of LOG_FORMATS) {
    const sink = new RecordingSink();
    const logger = consoleLogger({ quiet: false, format, sink });
    logger.access(ENTRY);
    logger.access(UNPARSED);
    await logger.flush?.();
    const lines = sink.text.split("\n");
    assertEquals(lines.length, 3, format);
    assertEquals(lines[2], "");
    // Lines are formatted when recorded: their times differ from NOW, so compare the rest.
    const expected = ACCESS_FORMATTERS[format](UNPARSED, NOW);
    const sameShape = (line: string) => line.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z|\[[^\]]+\]/, "T");
    assertEquals(sameShape(lines[1]), sameShape(expected), format);
  }
  const text = new RecordingSink();
  const plain = consoleLogger({ quiet: false, sink: text });
  plain.access(ENTRY);
  await plain.flush?.();
  assert(text.text.endsWith(" 192.0.2.7 GET /docs/a%20b?q=1 200 5120 1500.46ms\n"), text.text);
});

Deno.test("consoleLogger() writes nothing when quiet, and says whether ids are sent", async () => {
  const sink = new RecordingSink();
  const quiet = consoleLogger({ quiet: true, format: "json", sink });
  quiet.access(ENTRY);
  await quiet.flush?.();
  assertEquals(sink.writes, []);
  assertEquals(quiet.requestIdHeader, false);
  assertEquals(consoleLogger({ quiet: true, requestIdHeader: true }).requestIdHeader, true);
});
