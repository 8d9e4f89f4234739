/**
 * Files too large for the hot-file cache, served by a real server whose file
 * buffers are fewer than its clients: every client must still get every byte.
 */

import { assertEquals, join } from "../_deps.ts";
import { assertSameBytes, multipartParts, randomBytes } from "../_bytes.ts";
import { RawClient, recordingLogger, withServer } from "../_helpers.ts";

/** 3 MiB and 7 bytes: larger than the cache's largest file, and no multiple of any buffer. */
const SIZE = 3 * 1024 * 1024 + 7;
const NAME = "large.bin";
const TUNING = { fileBufferBytes: 256 * 1024, fileBuffers: 2 };
const CLIENTS = 8;

const DATA = randomBytes(SIZE, 0x2545f491);

/** Runs `fn` against a server for a temporary root holding the large file, then removes it. */
async function withLargeFile(
  fn: (port: number) => Promise<void>,
  logger = recordingLogger(),
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "portico-large-" });
  try {
    await Deno.writeFile(join(root, NAME), DATA);
    await withServer(fn, { root, tuning: TUNING, logger });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function get(range?: string): string {
  const fields = range === undefined ? "" : `range: ${range}\r\n`;
  return `GET /${NAME} HTTP/1.1\r\nhost: localhost\r\n${fields}\r\n`;
}

Deno.test("listen() sends a large file byte for byte to more clients than it has buffers", async () => {
  const logger = recordingLogger();
  await withLargeFile(async (port) => {
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () => RawClient.connect(port)),
    );
    try {
      // Every request is in before any response is read, so the server has
      // all of them under way at once and must lend overflow buffers.
      await Promise.all(clients.map((client) => client.send(get())));
      const responses = await Promise.all(clients.map((client) => client.read()));
      responses.forEach((response, i) => {
        assertEquals(response.status, 200, `client ${i}`);
        assertEquals(response.headers.get("content-length"), String(SIZE), `client ${i}`);
        assertSameBytes(response.body, DATA, `client ${i}`);
      });
      // Exactly Content-Length bytes: each connection then answers another request.
      await Promise.all(clients.map((client) => client.send(get("bytes=0-0"))));
      for (const [i, client] of clients.entries()) {
        const next = await client.read();
        assertEquals(next.status, 206, `client ${i}, second request`);
        assertEquals([...next.body], [DATA[0]], `client ${i}, second request`);
        assertEquals(client.pending, 0, `client ${i}: nothing after the response`);
      }
    } finally {
      for (const client of clients) client.close();
    }
  }, logger);
  const full = logger.lines.filter((line) => line === `GET /${NAME} 200 ${SIZE}`);
  assertEquals(full.length, CLIENTS, logger.lines.join("\n"));
  assertEquals(logger.errors, []);
});

Deno.test("listen() answers single byte ranges of a large file exactly", async () => {
  await withLargeFile(async (port) => {
    const client = await RawClient.connect(port);
    try {
      const cases: [string, number, number][] = [
        ["bytes=1000000-1999999", 1_000_000, 1_999_999],
        ["bytes=-4097", SIZE - 4097, SIZE - 1],
      ];
      // On one connection, so each body must end exactly where its length says.
      for (const [range, start, end] of cases) {
        await client.send(get(range));
        const response = await client.read();
        assertEquals(response.status, 206, range);
        assertEquals(response.headers.get("content-range"), `bytes ${start}-${end}/${SIZE}`);
        assertEquals(response.headers.get("content-length"), String(end - start + 1), range);
        assertSameBytes(response.body, DATA.subarray(start, end + 1), range);
      }
      assertEquals(client.pending, 0);
    } finally {
      client.close();
    }
  });
});

Deno.test("listen() answers a multipart range request of a large file with the right parts", async () => {
  await withLargeFile(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(get("bytes=0-9,2000000-2000009"));
      const response = await client.read();
      assertEquals(response.status, 206);
      assertEquals(response.headers.get("content-range"), null);
      assertEquals(Number(response.headers.get("content-length")), response.body.length);
      const parts = multipartParts(response.body, response.headers.get("content-type")!);
      const expected: [number, number][] = [[0, 9], [2_000_000, 2_000_009]];
      assertEquals(parts.length, expected.length);
      parts.forEach((part, i) => {
        const [start, end] = expected[i];
        assertEquals(part.fields.get("content-type"), "application/octet-stream");
        assertEquals(part.fields.get("content-range"), `bytes ${start}-${end}/${SIZE}`);
        assertSameBytes(part.bytes, DATA.subarray(start, end + 1), `part ${i + 1}`);
      });
      assertEquals(client.pending, 0);
    } finally {
      client.close();
    }
  });
});
