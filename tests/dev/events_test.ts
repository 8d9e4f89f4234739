/**
 * The event-stream hub, read the way a server reads it: straight from each
 * Response body. Every read has a deadline, so a stream that stays silent
 * fails the test instead of hanging it; the heartbeat runs on a manual clock.
 */

import { assert, assertEquals } from "../_deps.ts";
import { concat } from "../_bytes.ts";
import { deadline } from "../_helpers.ts";
import { LiveEvents, MAX_UNREAD_BYTES } from "../../lib/dev/events.ts";
import type { LiveChange } from "../../lib/dev/changes.ts";
import { ManualClock } from "../_clock.ts";

/** How long one read may wait: only a safety net, never reached when the hub works. */
const READ_DEADLINE_MS = 5000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const RETRY = "retry: 1000\n\n";
const HEARTBEAT = ": keep-alive\n\n";

type Reader = ReadableStreamDefaultReader<Uint8Array>;

/** Opens a stream and returns its reader. */
function connect(events: LiveEvents): Reader {
  const body = events.response().body;
  assert(body !== null);
  return body.getReader();
}

/** One read, failing the test when nothing (not even the end) arrives in time. */
function readOnce(reader: Reader): Promise<ReadableStreamReadResult<Uint8Array>> {
  return deadline(reader.read(), READ_DEADLINE_MS, `no data within ${READ_DEADLINE_MS} ms`);
}

/** Reads exactly `expected.length` bytes and returns them as text. */
async function readText(reader: Reader, expected: string): Promise<string> {
  const want = encoder.encode(expected).length;
  const parts: Uint8Array[] = [];
  let have = 0;
  while (have < want) {
    const { done, value } = await readOnce(reader);
    if (done) break;
    parts.push(value);
    have += value.length;
  }
  return decoder.decode(concat(parts));
}

/** Reads to the end of the stream and returns everything as text. */
async function readToEnd(reader: Reader): Promise<string> {
  const parts: Uint8Array[] = [];
  while (true) {
    const { done, value } = await readOnce(reader);
    if (done) return decoder.decode(concat(parts));
    parts.push(value);
  }
}

/** The exact text of the event for `change`. */
function changeEvent(change: LiveChange): string {
  return `event: change\ndata: ${JSON.stringify(change)}\n\n`;
}

async function cancelAll(readers: readonly Reader[]): Promise<void> {
  await Promise.all(readers.map((reader) => reader.cancel()));
}

Deno.test("LiveEvents.response() answers 200 with the event-stream headers", async () => {
  const events = new LiveEvents({ clock: new ManualClock() });
  const response = events.response();
  try {
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assertEquals(response.headers.get("cache-control"), "no-store");
    assertEquals(response.headers.get("x-content-type-options"), "nosniff");
  } finally {
    await response.body?.cancel();
    events.close();
  }
});

Deno.test("LiveEvents.broadcast() sends each of 50 clients one change event per broadcast", async () => {
  const events = new LiveEvents({ clock: new ManualClock() });
  const readers = Array.from({ length: 50 }, () => connect(events));
  try {
    assertEquals(events.clients, 50);
    const first: LiveChange = { reload: false, css: ["/css/site.css"], images: [] };
    const second: LiveChange = { reload: true, css: [], images: ["/img/caf\u00e9 #1.png"] };
    events.broadcast(first);
    events.broadcast(second);
    events.close();
    // After close, everything sent is in each stream and then its end: exactly these bytes.
    const expected = RETRY + changeEvent(first) + changeEvent(second);
    const received = await Promise.all(readers.map(readToEnd));
    for (const text of received) assertEquals(text, expected);
  } finally {
    events.close();
    await cancelAll(readers);
  }
});

Deno.test("LiveEvents.broadcast() sends only the fields of a change", async () => {
  const events = new LiveEvents({ clock: new ManualClock() });
  const reader = connect(events);
  try {
    const change = { reload: false, css: [], images: ["/a.png"], secret: "x" };
    events.broadcast(change);
    events.close();
    assertEquals(
      await readToEnd(reader),
      RETRY + 'event: change\ndata: {"reload":false,"css":[],"images":["/a.png"]}\n\n',
    );
  } finally {
    events.close();
    await reader.cancel();
  }
});

Deno.test("LiveEvents.clients forgets clients whose streams are cancelled", async () => {
  const clock = new ManualClock();
  const events = new LiveEvents({ clock });
  const readers = Array.from({ length: 3 }, () => connect(events));
  try {
    assertEquals(events.clients, 3);
    await readers[0].cancel();
    assertEquals(events.clients, 2);
    // The others still receive.
    const change: LiveChange = { reload: true, css: [], images: [] };
    events.broadcast(change);
    assertEquals(
      await readText(readers[1], RETRY + changeEvent(change)),
      RETRY + changeEvent(change),
    );
    await readers[1].cancel();
    await readers[2].cancel();
    assertEquals(events.clients, 0);
    // No client left: the heartbeat stopped.
    assertEquals(clock.pending, 0);
  } finally {
    events.close();
    await cancelAll(readers);
  }
});

for (const [elapsedMs, beats] of [[999, 0], [1000, 1], [2999, 2], [3000, 3]] as const) {
  Deno.test(`LiveEvents sends ${beats} keep-alive comment(s) in ${elapsedMs} ms at heartbeatMs 1000`, async () => {
    const clock = new ManualClock();
    const events = new LiveEvents({ heartbeatMs: 1000, clock });
    const readers: Reader[] = [];
    try {
      assertEquals(clock.pending, 0);
      readers.push(connect(events), connect(events));
      // One timer for the hub, however many clients.
      assertEquals(clock.pending, 1);
      clock.advance(elapsedMs);
      assertEquals(clock.pending, 1);
      events.close();
      assertEquals(clock.pending, 0);
      // Everything sent is in each stream before its end: exactly the retry line and the comments.
      for (const reader of readers) {
        assertEquals(await readToEnd(reader), RETRY + HEARTBEAT.repeat(beats));
      }
    } finally {
      events.close();
      await cancelAll(readers);
    }
  });
}

Deno.test("LiveEvents stops the heartbeat when the last client leaves and restarts it for the next", async () => {
  const clock = new ManualClock();
  const events = new LiveEvents({ heartbeatMs: 1000, clock });
  const readers: Reader[] = [];
  try {
    readers.push(connect(events));
    await readers[0].cancel();
    assertEquals(clock.pending, 0);
    clock.advance(5000);
    readers.push(connect(events));
    assertEquals(clock.pending, 1);
    clock.advance(1000);
    events.close();
    assertEquals(await readToEnd(readers[1]), RETRY + HEARTBEAT);
  } finally {
    events.close();
    await cancelAll(readers);
  }
});

Deno.test("LiveEvents.close() ends every stream, and streams opened later end after the retry line", async () => {
  const clock = new ManualClock();
  const events = new LiveEvents({ clock });
  const readers = Array.from({ length: 5 }, () => connect(events));
  const late: Reader[] = [];
  try {
    for (const reader of readers) assertEquals(await readText(reader, RETRY), RETRY);
    const pendingReads = readers.map(readOnce);
    events.close();
    for (const result of await Promise.all(pendingReads)) assertEquals(result.done, true);
    assertEquals(events.clients, 0);
    late.push(connect(events));
    assertEquals(await readToEnd(late[0]), RETRY);
    assertEquals(events.clients, 0);
    assertEquals(clock.pending, 0);
    events.broadcast({ reload: true, css: [], images: [] });
  } finally {
    events.close();
    await cancelAll([...readers, ...late]);
  }
});

Deno.test("LiveEvents.broadcast() drops a client that leaves more than MAX_UNREAD_BYTES unread", async () => {
  const events = new LiveEvents({ clock: new ManualClock() });
  const stalled = connect(events);
  const reading = connect(events);
  try {
    // About 26 KB per event.
    const css = Array.from({ length: 256 }, (_, i) => `/css/${String(i).padStart(90, "x")}.css`);
    const change: LiveChange = { reload: false, css, images: [] };
    const eventBytes = encoder.encode(changeEvent(change)).length;
    let sent = 0;
    let expected = RETRY;
    while (events.clients === 2) {
      events.broadcast(change);
      sent++;
      expected += changeEvent(change);
      // The reading client keeps up.
      assertEquals(await readText(reading, expected), expected);
      expected = "";
      assert(sent <= Math.ceil(MAX_UNREAD_BYTES / eventBytes) + 1, "never dropped");
    }
    assertEquals(events.clients, 1);
    // The stalled client gets what was queued, then the end; nothing more is queued for it.
    events.broadcast(change);
    const leftover = await readToEnd(stalled);
    assertEquals(leftover, RETRY + changeEvent(change).repeat(sent));
    assert(encoder.encode(leftover).length <= MAX_UNREAD_BYTES + eventBytes);
    assertEquals(await readText(reading, changeEvent(change)), changeEvent(change));
  } finally {
    events.close();
    await cancelAll([stalled, reading]);
  }
});
