import { assert, assertEquals } from "../_deps.ts";
import { BufferPool, OVERFLOW_BUFFER_BYTES } from "../../lib/http/buffer_pool.ts";

/** Larger than an overflow buffer, so pooled and overflow buffers tell apart by size. */
const BIG = 4 * OVERFLOW_BUFFER_BYTES;

Deno.test("BufferPool.acquire() lends the buffer released last before making a new one", () => {
  const pool = new BufferPool(BIG, 4);
  const first = pool.acquire();
  assertEquals(first.length, BIG);
  assertEquals([pool.created, pool.free], [1, 0]);
  pool.release(first);
  assertEquals([pool.created, pool.free], [1, 1]);
  assert(pool.acquire() === first, "the released buffer is lent again");
  assertEquals([pool.created, pool.free], [1, 0]);

  const second = pool.acquire();
  assert(second !== first, "a second buffer is made while the first is out");
  pool.release(first);
  pool.release(second);
  assert(pool.acquire() === second, "the most recently released buffer comes first");
  assert(pool.acquire() === first);
  assertEquals([pool.created, pool.free], [2, 0]);
});

Deno.test("BufferPool.acquire() lends an overflow buffer once maxBuffers are out", () => {
  const pool = new BufferPool(BIG, 2);
  const a = pool.acquire();
  const b = pool.acquire();
  const overflow = pool.acquire();
  assertEquals([a.length, b.length], [BIG, BIG]);
  assertEquals(overflow.length, OVERFLOW_BUFFER_BYTES);
  assert(overflow !== a && overflow !== b);
  assertEquals([pool.created, pool.free], [2, 0], "no third pooled buffer is made");
  // Many more while the two are out: still overflow buffers, never pooled ones.
  const more = Array.from({ length: 5 }, () => pool.acquire());
  assert(more.every((buffer) => buffer.length === OVERFLOW_BUFFER_BYTES));
  assertEquals(new Set(more).size, 5, "each overflow buffer is a new one");
  assertEquals(pool.created, 2);

  // An overflow buffer is dropped on release; pooled ones come back.
  pool.release(overflow);
  for (const buffer of more) pool.release(buffer);
  assertEquals(pool.free, 0);
  pool.release(b);
  assertEquals(pool.free, 1);
  assert(pool.acquire() === b);
});

Deno.test("BufferPool.acquire() makes overflow buffers no larger than bufferBytes", () => {
  const pool = new BufferPool(1000, 1);
  assertEquals(pool.acquire().length, 1000);
  assertEquals(pool.acquire().length, 1000, "overflow: min(OVERFLOW_BUFFER_BYTES, bufferBytes)");
  assertEquals(pool.created, 1);
});

Deno.test("BufferPool.release() keeps no more free buffers than were created", () => {
  const pool = new BufferPool(BIG, 3);
  const lent = pool.acquire();
  // Buffers of the pooled size beyond `created` are dropped, whoever made them.
  pool.release(new Uint8Array(BIG));
  pool.release(lent);
  pool.release(new Uint8Array(BIG));
  assertEquals([pool.created, pool.free], [1, 1]);

  // When overflow and pooled buffers have the same size, whichever comes back
  // first is kept, but never more than created.
  const small = new BufferPool(1000, 1);
  const pooled = small.acquire();
  const overflow = small.acquire();
  small.release(overflow);
  small.release(pooled);
  assertEquals([small.created, small.free], [1, 1]);
  small.acquire();
  assertEquals([small.created, small.free], [1, 0], "the one free buffer is lent, none is made");
});

Deno.test("BufferPool.acquire() with maxBuffers 0 lends only overflow buffers", () => {
  const pool = new BufferPool(BIG, 0);
  const a = pool.acquire();
  assertEquals(a.length, OVERFLOW_BUFFER_BYTES);
  pool.release(a);
  assertEquals([pool.created, pool.free], [0, 0]);
  const b = pool.acquire();
  assertEquals(b.length, OVERFLOW_BUFFER_BYTES);
  assert(b !== a, "nothing is kept for reuse");
  assertEquals([pool.created, pool.free], [0, 0]);
});
