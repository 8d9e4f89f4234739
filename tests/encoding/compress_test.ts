import { assert, assertEquals, assertRejects } from "../_deps.ts";
import { concat, deadline, READ_TIMEOUT_MS } from "../_helpers.ts";
import { decode, decodePrefix, randomBytes } from "../_bytes.ts";
import {
  compressBytes,
  type CompressionLevel,
  compressionStream,
} from "../../lib/encoding/compress.ts";
import { CODINGS } from "../../lib/encoding/negotiate.ts";

const LEVELS: readonly CompressionLevel[] = ["high", "moderate"];
const KiB = 1024;
const encoder = new TextEncoder();

const WORDS = ["const", "return", "await", "request", "headers", "length", "value", "index"];

/** About `length` bytes of script-like text: compresses well, but not trivially. */
function scriptText(length: number): Uint8Array {
  let x = 2463534242;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const word = () => WORDS[next() % WORDS.length];
  const lines: string[] = [];
  for (let size = 0; size < length;) {
    const line = `  ${word()} ${word()}${next() % 1000} = ${word()}(${next() % 100000});\n`;
    lines.push(line);
    size += line.length;
  }
  return encoder.encode(lines.join("")).subarray(0, length);
}

/** Everything a readable stream yields, with a deadline. */
async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  while (true) {
    const { done, value } = await deadline(reader.read(), READ_TIMEOUT_MS, "no output in time");
    if (done) return concat(parts);
    parts.push(value);
  }
}

const INPUTS: ReadonlyArray<{ name: string; bytes: Uint8Array }> = [
  { name: "empty", bytes: new Uint8Array(0) },
  { name: "1 byte", bytes: new Uint8Array([0x41]) },
  { name: "100 KiB random", bytes: randomBytes(100 * KiB) },
  { name: "1 MiB text", bytes: scriptText(1024 * KiB) },
];

Deno.test("compressBytes() round-trips each coding at each level", async () => {
  for (const coding of CODINGS) {
    for (const level of LEVELS) {
      for (const { name, bytes } of INPUTS) {
        const encoded = await compressBytes(coding, bytes, level);
        const where = `${coding} ${level} ${name}`;
        assertEquals(decode(coding, encoded), bytes, where);
        if (name === "1 MiB text") assert(encoded.length < bytes.length / 2, `${where} compresses`);
      }
    }
  }
});

Deno.test("compressBytes() compresses harder at the high level", async () => {
  const text = scriptText(256 * KiB);
  for (const coding of CODINGS) {
    const high = await compressBytes(coding, text, "high");
    const moderate = await compressBytes(coding, text, "moderate");
    assert(high.length <= moderate.length, `${coding}: ${high.length} > ${moderate.length}`);
  }
});

Deno.test("compressBytes() leaves its input alone and returns bytes of their own", async () => {
  const text = scriptText(4 * KiB);
  const copy = text.slice();
  for (const coding of CODINGS) {
    const encoded = await compressBytes(coding, text, "moderate");
    assertEquals(text, copy);
    assertEquals(encoded.byteLength, encoded.buffer.byteLength, `${coding}: not a pooled view`);
  }
});

/** Ways of writing the same bytes into a compression stream. */
const CHUNKINGS: ReadonlyArray<{ name: string; split: (bytes: Uint8Array) => Uint8Array[] }> = [
  {
    name: "many small chunks",
    split: (bytes) => {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += 997) chunks.push(bytes.subarray(i, i + 997));
      return chunks;
    },
  },
  { name: "one big chunk", split: (bytes) => [bytes] },
  { name: "empty chunks between", split: (bytes) => [new Uint8Array(0), bytes, new Uint8Array(0)] },
];

Deno.test("compressionStream() round-trips each coding, chunked either way, flushed or not", async () => {
  const text = scriptText(300 * KiB);
  for (const coding of CODINGS) {
    for (const { name, split } of CHUNKINGS) {
      for (const flush of [false, true]) {
        const encoded = await readAll(
          ReadableStream.from(split(text)).pipeThrough(
            compressionStream(coding, "moderate", { flush }),
          ),
        );
        const where = `${coding}, ${name}, flush ${flush}`;
        assertEquals(decode(coding, encoded), text, where);
        assert(encoded.length < text.length / 2, `${where} compresses`);
      }
    }
  }
});

Deno.test("compressionStream() encodes an empty stream as a valid empty body", async () => {
  for (const coding of CODINGS) {
    const encoded = await readAll(
      ReadableStream.from<Uint8Array>([]).pipeThrough(compressionStream(coding, "moderate")),
    );
    assert(encoded.length > 0, `${coding}: a complete, empty encoding`);
    assertEquals(decode(coding, encoded), new Uint8Array(0), coding);
  }
});

Deno.test("compressionStream() with flush hands over each chunk's output before the next", async () => {
  const events = ["data: one\n\n", "data: two, a little longer\n\n", "data: 3\n\n"];
  for (const coding of CODINGS) {
    const stream = compressionStream(coding, "moderate", { flush: true });
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    const received: Uint8Array[] = [];
    try {
      for (const [index, event] of events.entries()) {
        // Not awaited: the write completes only once its output has been read.
        const written = writer.write(encoder.encode(event));
        const { done, value } = await deadline(
          reader.read(),
          READ_TIMEOUT_MS,
          `${coding}: no output for event ${index} while the stream is open`,
        );
        assert(!done && value !== undefined);
        received.push(value);
        await written;
        // Each read's bytes complete everything written so far: nothing is held back.
        const decoded = new TextDecoder().decode(await decodePrefix(coding, concat(received)));
        assertEquals(decoded, events.slice(0, index + 1).join(""), `${coding} event ${index}`);
      }
    } finally {
      await writer.abort(new Error("test done"));
      await reader.cancel().catch(() => {});
    }
  }
});

Deno.test("compressionStream() without flush holds output back until the end", async () => {
  // The reason flush exists: br and zstd keep a small chunk's output.
  for (const coding of ["br", "zstd"] as const) {
    const stream = compressionStream(coding, "moderate");
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    const read = reader.read();
    await writer.write(encoder.encode("data: one\n\n"));
    // Only the readable's microtasks are awaited here, never a timer.
    let settled = false;
    read.then(() => settled = true, () => settled = true);
    await Promise.resolve();
    assertEquals(settled, false, coding);
    await writer.close();
    const all: Uint8Array[] = [];
    for (let result = await read; !result.done; result = await reader.read()) {
      all.push(result.value);
    }
    assertEquals(new TextDecoder().decode(decode(coding, concat(all))), "data: one\n\n");
  }
});

Deno.test("compressionStream() errors its readable when the writable is aborted", async () => {
  for (const coding of CODINGS) {
    const stream = compressionStream(coding, "moderate", { flush: true });
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    const written = writer.write(encoder.encode("some bytes"));
    await deadline(reader.read(), READ_TIMEOUT_MS, "no output");
    await written;
    const reason = new Error("the client went away");
    await writer.abort(reason);
    const error = await assertRejects(() => reader.read());
    assertEquals(error, reason, coding);
  }
});

Deno.test("compressionStream() fails its writer when the readable is cancelled", async () => {
  for (const coding of CODINGS) {
    const stream = compressionStream(coding, "moderate");
    const writer = stream.writable.getWriter();
    await stream.readable.cancel(new Error("not wanted"));
    await assertRejects(() => writer.write(encoder.encode("more")));
    await assertRejects(() => writer.closed);
  }
});
