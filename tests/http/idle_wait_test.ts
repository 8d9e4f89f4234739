/**
 * The wait between two requests: bytes end it, the server closing cuts it
 * short without an error, and an idle connection is closed at the limit.
 * Reads are fake promises settled by hand; closing a connection rejects the
 * pending read, as closing a real socket does. Only the idle-timeout test
 * waits on the real clock, and it waits for the close as an event.
 */

import { assert, assertEquals, assertRejects } from "../_deps.ts";
import { deadline } from "../_helpers.ts";
import { IdleWait } from "../../lib/http/idle_wait.ts";

/** An idle timeout no test reaches, so that only the fake read ends a wait. */
const NEVER_MS = 60_000;

/** How long the idle-timeout test may take to see the close: only a safety net. */
const CLOSE_DEADLINE_MS = 10_000;

/** A connection whose next read is settled by hand and whose close rejects that read. */
function fakeConnection(): {
  fill: () => Promise<boolean>;
  read: PromiseWithResolvers<boolean>;
  close: () => void;
  closes: () => number;
} {
  const read = Promise.withResolvers<boolean>();
  let closes = 0;
  return {
    fill: () => read.promise,
    read,
    close: () => {
      closes++;
      read.reject(new Deno.errors.BadResource("Bad resource ID"));
    },
    closes: () => closes,
  };
}

for (
  const [arrived, what] of [[true, "bytes arrive"], [
    false,
    "the client closes the connection",
  ]] as const
) {
  Deno.test(`IdleWait.wait() resolves ${arrived} when ${what}`, async () => {
    const closing = new AbortController();
    const conn = fakeConnection();
    const idle = new IdleWait(NEVER_MS, closing.signal, conn.close);
    try {
      const waiting = idle.wait(conn.fill);
      conn.read.resolve(arrived);
      assertEquals(await waiting, arrived);
      assertEquals(conn.closes(), 0);
    } finally {
      idle.stop();
    }
  });
}

Deno.test("IdleWait.wait() closes the connection and resolves false when the server starts closing", async () => {
  const closing = new AbortController();
  const conn = fakeConnection();
  const idle = new IdleWait(NEVER_MS, closing.signal, conn.close);
  try {
    const waiting = idle.wait(conn.fill);
    closing.abort();
    // The read fails because of the close; the wait reports that as the end, not an error.
    assertEquals(await waiting, false);
    assertEquals(conn.closes(), 1);
  } finally {
    idle.stop();
  }
});

Deno.test("IdleWait.wait() passes on a read error that is not its own close", async () => {
  const closing = new AbortController();
  const conn = fakeConnection();
  const idle = new IdleWait(NEVER_MS, closing.signal, conn.close);
  try {
    const waiting = idle.wait(conn.fill);
    conn.read.reject(new Deno.errors.ConnectionReset("reset"));
    await assertRejects(() => waiting, Deno.errors.ConnectionReset);
    assertEquals(conn.closes(), 0);
  } finally {
    idle.stop();
  }
});

Deno.test("IdleWait does not close a connection between waits when the server starts closing", async () => {
  const closing = new AbortController();
  const conn = fakeConnection();
  const idle = new IdleWait(NEVER_MS, closing.signal, conn.close);
  try {
    const waiting = idle.wait(conn.fill);
    conn.read.resolve(true);
    assertEquals(await waiting, true);
    // The request is being answered, not waited for: the connection loop finishes it.
    closing.abort();
    assertEquals(conn.closes(), 0);
  } finally {
    idle.stop();
  }
});

Deno.test("IdleWait.stop() removes the listener so that a later abort does not close", async () => {
  const closing = new AbortController();
  const conn = fakeConnection();
  const idle = new IdleWait(NEVER_MS, closing.signal, conn.close);
  idle.stop();
  // Even a wait under way is left alone once stopped: the abort no longer reaches it.
  const waiting = idle.wait(conn.fill);
  closing.abort();
  assertEquals(conn.closes(), 0);
  conn.read.resolve(true);
  assertEquals(await waiting, true);
  assertEquals(conn.closes(), 0);
});

Deno.test("IdleWait.wait() closes a connection idle past the limit and resolves false", async () => {
  const closing = new AbortController();
  const read = Promise.withResolvers<boolean>();
  const closed = Promise.withResolvers<void>();
  let closes = 0;
  const idle = new IdleWait(20, closing.signal, () => {
    closes++;
    read.reject(new Deno.errors.BadResource("Bad resource ID"));
    closed.resolve();
  });
  try {
    const started = performance.now();
    const waiting = idle.wait(() => read.promise);
    await deadline(closed.promise, CLOSE_DEADLINE_MS, "the idle connection was not closed");
    assert(performance.now() - started >= 19, "closed before the limit");
    assertEquals(await waiting, false);
    assertEquals(closes, 1);
  } finally {
    idle.stop();
  }
});
