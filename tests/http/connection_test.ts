/**
 * Raw-socket tests of the connection loop against the real server: keep-alive,
 * pipelining, HTTP/1.0, bodies on static routes, malformed input, and the
 * server still serving after each.
 */

import { DEFAULT_LIMITS } from "../../lib/config.ts";
import type { Handler } from "../../lib/handler.ts";
import { type Connection, serveConnection } from "../../lib/http/connection.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  join,
} from "../_deps.ts";
import { HttpError } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/log.ts";
import { exchange, latin1, RawClient, recordingLogger, withServer, WWW } from "../_helpers.ts";

const INDEX = await Deno.readFile(join(WWW, "index.html"));
const STYLE = await Deno.readFile(join(WWW, "style.css"));
const LOGO = await Deno.readFile(join(WWW, "logo.svg"));

/** Asserts that a fresh connection is still served normally. */
async function assertStillServing(port: number): Promise<void> {
  const response = await exchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  assertEquals(response.status, 200);
  assertEquals(response.body, INDEX);
}

Deno.test("serveConnection() keeps an HTTP/1.1 connection open for several requests", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      for (const [path, bytes] of [["/", INDEX], ["/style.css", STYLE], ["/", INDEX]] as const) {
        await client.send(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
        const response = await client.read();
        assertEquals(response.status, 200);
        assertEquals(response.body, bytes);
        assertEquals(response.headers.get("connection"), null);
      }
    } finally {
      client.close();
    }
  });
});

Deno.test("serveConnection() answers three pipelined requests in one write in order", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(
        "GET /style.css HTTP/1.1\r\nHost: a\r\n\r\n" +
          "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n" +
          "GET /logo.svg HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      );
      const first = await client.read();
      assertEquals(first.body, STYLE);
      const second = await client.read(true);
      assertEquals(second.status, 200);
      assertEquals(second.headers.get("content-length"), String(INDEX.length));
      const third = await client.read();
      assertEquals(third.body, LOGO);
      assertEquals(third.headers.get("connection"), "close");
      assert(await client.closedByServer());
    } finally {
      client.close();
    }
  });
});

Deno.test("serveConnection() parses a request written one byte at a time", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      const request = "\r\nGET /logo.svg HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
      for (const c of request) await client.send(c);
      const response = await client.read();
      assertEquals(response.status, 200);
      assertEquals(response.body, LOGO);
    } finally {
      client.close();
    }
  });
});

Deno.test("serveConnection() closes an HTTP/1.0 connection unless keep-alive is asked", async () => {
  await withServer(async (port) => {
    const plain = await RawClient.connect(port);
    try {
      await plain.send("GET / HTTP/1.0\r\n\r\n");
      const response = await plain.read();
      assertEquals(response.status, 200);
      assertEquals(response.body, INDEX);
      assertEquals(response.headers.get("connection"), "close");
      assert(await plain.closedByServer());
    } finally {
      plain.close();
    }

    const kept = await RawClient.connect(port);
    try {
      await kept.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      const first = await kept.read();
      assertEquals(first.headers.get("connection"), "keep-alive");
      await kept.send("GET /style.css HTTP/1.0\r\n\r\n");
      const second = await kept.read();
      assertEquals(second.body, STYLE);
      assert(await kept.closedByServer());
    } finally {
      kept.close();
    }
  });
});

Deno.test("serveConnection() honours Connection: close on HTTP/1.1", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      const response = await client.read();
      assertEquals(response.headers.get("connection"), "close");
      assert(await client.closedByServer());
    } finally {
      client.close();
    }
  });
});

Deno.test("serveConnection() sends Date, Server and Content-Length", async () => {
  await withServer(async (port) => {
    const response = await exchange(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(response.reason, "OK");
    assertMatch(response.headers.get("date") ?? "", /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
    assertMatch(response.headers.get("server") ?? "", /^portico\/\d+\.\d+\.\d+$/);
    assertEquals(response.headers.get("content-length"), String(INDEX.length));
  });
});

Deno.test("serveConnection() answers HEAD with GET's fields and no body", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send("HEAD /logo.svg HTTP/1.1\r\nHost: a\r\n\r\n");
      const head = await client.read(true);
      assertEquals(head.headers.get("content-length"), String(LOGO.length));
      assertEquals(head.headers.get("content-type"), "image/svg+xml");
      assertEquals(client.pending, 0);
      // The next response starts right after the head: no body bytes were sent.
      await client.send("GET /logo.svg HTTP/1.1\r\nHost: a\r\n\r\n");
      const get = await client.read();
      assertEquals(get.body, LOGO);
      assertEquals(get.headers.get("etag"), head.headers.get("etag"));
    } finally {
      client.close();
    }
  });
});

Deno.test("serveConnection() ignores an empty line before the request line", async () => {
  await withServer(async (port) => {
    const response = await exchange(port, "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(response.status, 200);
  });
});

/** Malformed requests: each gets its status, an HTML body and Connection: close. */
const MALFORMED: Array<{ name: string; request: string; status: number }> = [
  { name: "a garbage request line", request: "HELLO\r\n\r\n", status: 400 },
  {
    name: "two spaces in the request line",
    request: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "a request-target over 8 KiB",
    request: `GET /${"a".repeat(8200)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    status: 414,
  },
  {
    name: "a header section over 32 KiB",
    request: `GET / HTTP/1.1\r\nHost: a\r\nX: ${"b".repeat(33 * 1024)}\r\n\r\n`,
    status: 431,
  },
  {
    name: "more than 100 header fields",
    request: `GET / HTTP/1.1\r\nHost: a\r\n${"X-A: 1\r\n".repeat(101)}\r\n`,
    status: 431,
  },
  {
    name: "HTTP/2.0 in the request line",
    request: "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    status: 505,
  },
  { name: "an unknown method", request: "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", status: 501 },
  { name: "a missing Host in HTTP/1.1", request: "GET / HTTP/1.1\r\n\r\n", status: 400 },
  { name: "two Host fields", request: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400 },
  { name: "whitespace before a colon", request: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", status: 400 },
  {
    name: "an obs-fold line",
    request: "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
    status: 400,
  },
  {
    name: "a NUL in a field value",
    request: "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n",
    status: 400,
  },
  {
    name: "Content-Length with Transfer-Encoding",
    request:
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    status: 400,
  },
  {
    name: "two different Content-Length values",
    request: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    status: 400,
  },
  {
    name: "a non-decimal Content-Length",
    request: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
    status: 400,
  },
  {
    name: "an unsupported transfer coding",
    request: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    status: 501,
  },
  {
    name: "Transfer-Encoding without a final chunked",
    request: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
    status: 400,
  },
  {
    name: "a fragment in the request-target",
    request: "GET /index.html#top HTTP/1.1\r\nHost: a\r\n\r\n",
    status: 400,
  },
  {
    name: "a body larger than the limit",
    request: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 20000000\r\n\r\n",
    status: 413,
  },
  {
    name: "a malformed chunk size",
    request: "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    status: 400,
  },
];

for (const { name, request, status } of MALFORMED) {
  Deno.test(`serveConnection() answers ${name} with ${status} and closes`, async () => {
    await withServer(async (port) => {
      const client = await RawClient.connect(port);
      try {
        await client.send(request);
        const response = await client.read();
        assertEquals(response.status, status);
        assertEquals(response.headers.get("connection"), "close");
        assertEquals(response.headers.get("content-type"), "text/html; charset=utf-8");
        assertStringIncludes(response.text, `<h1>${status} `);
        assert(await client.closedByServer());
      } finally {
        client.close();
      }
      await assertStillServing(port);
    });
  });
}

Deno.test("serveConnection() answers bad percent-encoding in a path with 400 and closes", async () => {
  await withServer(async (port) => {
    for (const path of ["/%zz", "/a%00b", "/a%2fb", "/a%5cb", "/%4", "/%C0%AF"]) {
      const client = await RawClient.connect(port);
      try {
        await client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
        const response = await client.read();
        assertEquals(response.status, 400, path);
        assertEquals(response.headers.get("connection"), "close", path);
        assert(await client.closedByServer(), path);
      } finally {
        client.close();
      }
    }
    await assertStillServing(port);
  });
});

Deno.test("serveConnection() discards a GET body by its Content-Length", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      // The body looks like a request; it must never be answered as one.
      const smuggled = "GET /style.css HTTP/1.1\r\nHost: a\r\n\r\n";
      await client.send(
        `GET / HTTP/1.1\r\nHost: a\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}` +
          "GET /logo.svg HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      );
      assertEquals((await client.read()).body, INDEX);
      assertEquals((await client.read()).body, LOGO);
      assert(await client.closedByServer());
    } finally {
      client.close();
    }
  });
});

Deno.test("serveConnection() discards a chunked body sent with a static request", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      // The chunks spell a request; it must never be answered as one.
      const second = " HTTP/1.1\r\nHost: a\r\n\r\n";
      await client.send(
        "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
          `5;ext=1\r\nGET /\r\n${second.length.toString(16)}\r\n${second}\r\n` +
          "0\r\nX-Trailer: 1\r\n\r\n" +
          "GET /logo.svg HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      assertEquals((await client.read()).body, INDEX);
      assertEquals((await client.read()).body, LOGO);
    } finally {
      client.close();
    }
  });
});

Deno.test("serveConnection() answers POST to a static path with 405 and reads past its body", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello=world" +
          "GET /style.css HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      const rejected = await client.read();
      assertEquals(rejected.status, 405);
      assertEquals(rejected.headers.get("allow"), "GET, HEAD, OPTIONS");
      assertEquals((await client.read()).body, STYLE);
    } finally {
      client.close();
    }
  });
});

Deno.test("serveConnection() closes instead of waiting for a body it did not ask for", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
      );
      const response = await client.read();
      assertEquals(response.status, 405);
      assertEquals(response.headers.get("connection"), "close");
      assert(await client.closedByServer());
    } finally {
      client.close();
    }
  });
});

Deno.test("serveConnection() answers OPTIONS * with 204", async () => {
  await withServer(async (port) => {
    const response = await exchange(port, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(response.status, 204);
    assertEquals(response.body.length, 0);
  });
});

Deno.test("serveConnection() survives a client that leaves mid-request", async () => {
  await withServer(async (port) => {
    for (
      const partial of [
        "GET / HT",
        "GET / HTTP/1.1\r\nHost: a\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc",
      ]
    ) {
      const client = await RawClient.connect(port);
      await client.send(partial);
      client.close();
    }
    await assertStillServing(port);
  });
});

Deno.test("serveConnection() survives a client that leaves mid-response", async () => {
  const root = await Deno.makeTempDir();
  try {
    const big = new Uint8Array(8 * 1024 * 1024).map((_, i) => i & 0xff);
    await Deno.writeFile(join(root, "big.bin"), big);
    await Deno.copyFile(join(WWW, "index.html"), join(root, "index.html"));
    const logger = recordingLogger();
    await withServer(async (port) => {
      for (let i = 0; i < 3; i++) {
        const client = await RawClient.connect(port);
        await client.send("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
        await client.read(true); // the head only
        client.close();
      }
      const whole = await exchange(port, "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
      assertEquals(whole.body.length, big.length);
      assertEquals(whole.body, big);
      await assertStillServing(port);
    }, { root, logger });
    assertEquals(logger.errors, []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("serveConnection() logs one access line per request", async () => {
  const logger = recordingLogger();
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(
        "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      await client.read();
      await client.read();
    } finally {
      client.close();
    }
    await exchange(port, "BREW / HTTP/1.1\r\nHost: a\r\n\r\n");
  }, { logger });
  assertEquals(logger.lines.length, 3);
  assertEquals(logger.lines[0], `GET / 200 ${INDEX.length}`);
  assertMatch(logger.lines[1], /^GET \/missing 404 \d+$/);
  assertMatch(logger.lines[2], /^- - 501 \d+$/);
});

Deno.test("serveConnection() turns a handler that throws into 500 and keeps serving", async () => {
  const logger = recordingLogger();
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send("GET /boom HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n");
      const failed = await client.read();
      assertEquals(failed.status, 500);
      assert(!failed.text.includes("secret detail"), "the error text must not reach the client");
      const ok = await client.read();
      assertEquals(ok.text, "ok");
    } finally {
      client.close();
    }
  }, {
    logger,
    handler: (request) => {
      if (new URL(request.url).pathname === "/boom") throw new Error("secret detail");
      return new Response("ok");
    },
  });
  assertEquals(logger.errors.length, 1);
});

Deno.test("serveConnection() builds the request URL from Host and absolute-form targets", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(
        "GET //other.example/x?y=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n" +
          "GET http://absolute.example/p HTTP/1.1\r\nHost: ignored.example\r\n\r\n" +
          "GET /ten HTTP/1.0\r\n\r\n",
      );
      assertEquals((await client.read()).text, "http://example.com:8080//other.example/x?y=1");
      assertEquals((await client.read()).text, "http://absolute.example/p");
      assertEquals((await client.read()).text, `http://127.0.0.1:${port}/ten`);
    } finally {
      client.close();
    }
  }, { handler: (request) => new Response(request.url) });
});

Deno.test("serveConnection() passes a POST body to the handler and keeps repeated fields", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(
        "POST /echo HTTP/1.1\r\nHost: a\r\nX-Twice: 1\r\nX-Twice: 2\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      );
      const response = await client.read();
      assertEquals(response.text, "abcde|1, 2");
    } finally {
      client.close();
    }
  }, {
    handler: async (request) =>
      new Response(`${await request.text()}|${request.headers.get("x-twice")}`),
  });
});

Deno.test("serveConnection() closes a connection that stays idle", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assertEquals((await client.read()).status, 200);
      // No next request: the server closes without sending anything.
      assert(await client.closedByServer());
    } finally {
      client.close();
    }
  }, { limits: { idleTimeoutMs: 100, headerTimeoutMs: 300 } });
});

Deno.test("serveConnection() answers 408 to a request head that never completes", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send("GET / HTTP/1.1\r\nHost: a\r\n");
      const response = await client.read();
      assertEquals(response.status, 408);
      assertEquals(response.headers.get("connection"), "close");
      assert(await client.closedByServer());
    } finally {
      client.close();
    }
    await assertStillServing(port);
  }, { limits: { idleTimeoutMs: 100, headerTimeoutMs: 300 } });
});

Deno.test("serveConnection() refuses paths that climb out of the root as sent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const secret = "SECRET-NEXT-TO-ROOT";
    await Deno.writeTextFile(join(dir, "secret.txt"), secret);
    await Deno.mkdir(join(dir, "root"));
    await Deno.writeTextFile(join(dir, "root", "index.html"), "home");
    await withServer(async (port) => {
      for (
        const path of [
          "/../secret.txt",
          "/%2e%2e/secret.txt",
          "/.%2E/secret.txt",
          "/x/../../secret.txt",
          "/..\\secret.txt",
          "/x\\..\\..\\secret.txt",
          "/../index.html",
          "/%2e%2e/index.html",
          "//../index.html",
        ]
      ) {
        const response = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
        assertEquals(response.status, 404, path);
        assert(!response.text.includes(secret) && response.text !== "home", path);
      }
      // Dot segments that stay inside the root are resolved.
      const inside = await exchange(port, "GET /x/../index.html HTTP/1.1\r\nHost: a\r\n\r\n");
      assertEquals(inside.text, "home");
    }, { root: join(dir, "root") });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveConnection() hands TRACE to the handler, which answers 405", async () => {
  await withServer(async (port) => {
    const response = await exchange(port, "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(response.status, 405);
    assertEquals(response.headers.get("allow"), "GET, HEAD, OPTIONS");
  });
  await withServer(async (port) => {
    const response = await exchange(port, "TRACE /x HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(response.text, "TRACE");
  }, { handler: (request) => new Response(request.method) });
});

// ---------------------------------------------------------------------------
// Request bodies through a handler: chunked decoding, 100 Continue, the body
// limit, draining, the request signal, info.completed and back-pressure.
// ---------------------------------------------------------------------------

/** Longest a test waits for the server; only a safety net that fails the test. */
const SAFETY_MS = 5000;

/** Awaits `promise`, failing the test if it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, what: string, ms = SAFETY_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  promise.catch(() => {}); // A promise left behind by the timeout must not go unhandled.
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Answers with the body it read, and the request's path in `x-path`. */
const echo: Handler = async (request) => {
  const body = new Uint8Array(await request.arrayBuffer());
  return new Response(body, { headers: { "x-path": new URL(request.url).pathname } });
};

/** A request head with `fields` (each ending in CRLF) and its empty line. */
function head(method: string, path: string, fields = "", version = "1.1"): string {
  return `${method} ${path} HTTP/${version}\r\nHost: a\r\n${fields}\r\n`;
}

/** `pieces` in chunked coding, each size in `hexCase`, with extensions and a trailer section. */
function chunked(pieces: string[], hexCase: "lower" | "upper" = "lower", trailer = ""): string {
  const extensions = ["", ";name=value", ' ;quoted="a;b\\"c"', "\t;bare;x=1"];
  let out = "";
  pieces.forEach((piece, i) => {
    const size = piece.length.toString(16);
    const sized = hexCase === "upper" ? size.toUpperCase() : size;
    out += `${sized}${extensions[i % extensions.length]}\r\n${piece}\r\n`;
  });
  return `${out}0\r\n${trailer}\r\n`;
}

/** Body bytes (as Latin-1 text) that look like chunked framing and requests, plus bytes over 0x7f. */
function bodyText(length: number, offset = 0): string {
  const pattern = "0\r\n\r\nGET /x HTTP/1.1\r\n;\xff\x80\x00ab";
  return pattern.repeat(Math.ceil((length + offset) / pattern.length) + 1).slice(
    offset,
    offset + length,
  );
}

// Sizes with hex letters in them: 1, a, 1f, ab.
const CHUNK_PIECES = [1, 10, 31, 171].map((n, i) => bodyText(n, i * 7));
const TRAILER = "X-Checksum: abc\r\nX-Other: two words\r\n";

/**
 * Runs `fn` against `serveConnection()` on a real socket, each accepted
 * connection seen through `wrap`: for tests that need to control or count
 * the server's reads, which `withServer` cannot.
 */
async function withWrappedConnections(
  fn: (port: number) => Promise<void>,
  handler: Handler,
  wrap: (conn: Deno.Conn) => Connection,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving: Promise<void>[] = [];
  const accepting = (async () => {
    for (let i = 0; i < 8; i++) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // The listener was closed.
      }
      const options = { limits: DEFAULT_LIMITS, logger: silentLogger, server: "test" };
      serving.push(serveConnection(wrap(conn), handler, options));
    }
  })();
  try {
    await fn(listener.addr.port);
  } finally {
    listener.close();
    await accepting;
    // Every client has closed its socket, so every connection ends.
    await within(Promise.all(serving), "the connections to end");
  }
}

/** `conn` as a {@linkcode Connection} whose reads go through `read`. */
function withReads(conn: Deno.Conn, read: Connection["read"]): Connection {
  return {
    read,
    write: (p) => conn.write(p),
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
    remoteAddr: conn.remoteAddr,
    localAddr: conn.localAddr,
  };
}

/**
 * Every server read returns at most one byte, so the server meets every byte
 * boundary of a request. (A client writing one byte at a time does not ensure
 * that: Nagle's algorithm coalesces its writes into a few segments.)
 */
const oneByteReads = (conn: Deno.Conn): Connection =>
  withReads(conn, (p) => conn.read(p.subarray(0, 1)));

const DELIVERIES: Array<{ name: string; bytewise: boolean; serverReadsOneByte: boolean }> = [
  { name: "in one write", bytewise: false, serverReadsOneByte: false },
  { name: "one byte per write", bytewise: true, serverReadsOneByte: false },
  { name: "to a server reading one byte at a time", bytewise: false, serverReadsOneByte: true },
];

for (const { name, bytewise, serverReadsOneByte } of DELIVERIES) {
  for (const hexCase of ["lower", "upper"] as const) {
    Deno.test(
      `serveConnection() decodes a chunked body with ${hexCase}-case sizes sent ${name}`,
      async () => {
        const run = async (port: number): Promise<void> => {
          const client = await RawClient.connect(port);
          try {
            // A pipelined GET after the trailer shows the trailer was read to its end.
            const request = head("POST", "/upload", "Transfer-Encoding: chunked\r\n") +
              chunked(CHUNK_PIECES, hexCase, TRAILER) +
              head("GET", "/after", "Connection: close\r\n");
            if (bytewise) {
              for (let i = 0; i < request.length; i++) await client.send(request[i]);
            } else await client.send(request);
            const upload = await within(client.read(), "the upload's response");
            assertEquals(upload.status, 200);
            assertEquals(upload.headers.get("x-path"), "/upload");
            assertEquals(upload.body, latin1(CHUNK_PIECES.join("")));
            const after = await within(client.read(), "the next response");
            assertEquals(after.headers.get("x-path"), "/after");
            assertEquals(after.body.length, 0);
            assert(await within(client.closedByServer(), "the close"));
          } finally {
            client.close();
          }
        };
        if (serverReadsOneByte) await withWrappedConnections(run, echo, oneByteReads);
        else await withServer(run, { handler: echo });
      },
    );
  }
}

/** Chunked bodies that break the framing; each must end in 400 and a closed connection. */
const MALFORMED_CHUNKED: Array<{ name: string; body: string }> = [
  { name: "a chunk size that is not hex", body: "zz\r\nabc\r\n0\r\n\r\n" },
  { name: "a chunk size written with 0x", body: "0x3\r\nabc\r\n0\r\n\r\n" },
  { name: "a chunk size of 16 digits", body: "0000000000000003\r\nabc\r\n0\r\n\r\n" },
  { name: "a chunk-size line ending in a bare LF", body: "3\nabc\r\n0\r\n\r\n" },
  { name: "chunk data longer than its size", body: "3\r\nabcd\r\n0\r\n\r\n" },
  { name: "chunk data without its CRLF", body: "3\r\nabc0\r\n\r\n" },
  { name: "chunk data followed by a bare LF", body: "3\r\nabc\n0\r\n\r\n" },
  { name: "a trailer field without a colon", body: "3\r\nabc\r\n0\r\nno colon\r\n\r\n" },
];

for (const { name, body } of MALFORMED_CHUNKED) {
  Deno.test(`serveConnection() answers ${name} with 400 whatever the handler returns`, async () => {
    for (const rethrow of [false, true]) {
      const readErrors: unknown[] = [];
      await withServer(async (port) => {
        const client = await RawClient.connect(port);
        try {
          await client.send(head("POST", "/", "Transfer-Encoding: chunked\r\n") + body);
          const response = await within(client.read(), "the response");
          assertEquals(response.status, 400, `rethrow: ${rethrow}`);
          assertEquals(response.headers.get("connection"), "close");
          assertStringIncludes(response.text, "<h1>400 ");
          assert(await within(client.closedByServer(), "the close"));
        } finally {
          client.close();
        }
      }, {
        handler: async (request) => {
          try {
            await request.arrayBuffer();
          } catch (error) {
            readErrors.push(error);
            if (rethrow) throw error;
          }
          return new Response("the handler swallowed it");
        },
      });
      assertEquals(readErrors.length, 1, "the handler's read must reject once");
      assert(readErrors[0] instanceof Error);
    }
  });
}

/** How a request with `Expect: 100-continue` is answered, by version and by what the handler does. */
const EXPECT_CASES: Array<{
  name: string;
  version: "1.0" | "1.1";
  reads: boolean;
  continues: boolean;
}> = [
  {
    name: "sends 100 Continue once when the handler reads the body",
    version: "1.1",
    reads: true,
    continues: true,
  },
  {
    name: "sends no 100 Continue and closes when the handler never reads the body",
    version: "1.1",
    reads: false,
    continues: false,
  },
  {
    name: "sends no 100 Continue to an HTTP/1.0 client",
    version: "1.0",
    reads: true,
    continues: false,
  },
];

for (const { name, version, reads, continues } of EXPECT_CASES) {
  Deno.test(`serveConnection() ${name}`, async () => {
    const paths: string[] = [];
    await withServer(async (port) => {
      const client = await RawClient.connect(port);
      try {
        await client.send(
          head("POST", "/upload", "Content-Length: 5\r\nExpect: 100-continue\r\n", version),
        );
        if (continues) {
          const interim = await within(client.read(), "100 Continue");
          assertEquals(interim.status, 100);
          assertEquals(interim.reason, "Continue");
          assertEquals(interim.fieldNames, []);
        }
        // An HTTP/1.0 client cannot know about 100 and sends its body at once.
        if (reads) {
          await client.send("hel");
          await client.send("lo");
        }
        const response = await within(client.read(), "the final response");
        assertEquals(response.status, 200);
        assertEquals(response.text, reads ? "hello" : "");
        if (reads && version === "1.1") {
          // Still open; the next response is a final one, not a second 100.
          assertEquals(response.headers.get("connection"), null);
          await client.send(head("GET", "/next", "Connection: close\r\n"));
          const next = await within(client.read(), "the next response");
          assertEquals(next.status, 200);
          assertEquals(next.headers.get("x-path"), "/next");
        } else {
          assertEquals(response.headers.get("connection"), "close");
        }
        // closedByServer() also fails on any byte sent after the last response.
        assert(await within(client.closedByServer(), "the close"));
      } finally {
        client.close();
      }
    }, {
      handler: (request, info) => {
        const path = new URL(request.url).pathname;
        paths.push(path);
        if (reads || path === "/next") return echo(request, info);
        return new Response(null, { status: 200 });
      },
    });
    assertEquals(paths, reads && version === "1.1" ? ["/upload", "/next"] : ["/upload"]);
  });
}

const BODY_LIMIT = 32;

/**
 * Requests against `maxBodyBytes: BODY_LIMIT`, and what the handler (which
 * swallows a failed read and answers 200) got: the body, an error, or no call.
 */
const LIMIT_CASES: Array<{
  name: string;
  request: string;
  status: number;
  handler: "echoed" | "swallowed" | "not called";
  body?: string;
}> = [
  {
    name: "a Content-Length of exactly the limit",
    request: head("POST", "/", `Content-Length: ${BODY_LIMIT}\r\n`) + bodyText(BODY_LIMIT),
    status: 200,
    handler: "echoed",
    body: bodyText(BODY_LIMIT),
  },
  {
    name: "a chunked body of exactly the limit",
    request: head("POST", "/", "Transfer-Encoding: chunked\r\n") +
      chunked([bodyText(20), bodyText(BODY_LIMIT - 20, 3)]),
    status: 200,
    handler: "echoed",
    body: bodyText(20) + bodyText(BODY_LIMIT - 20, 3),
  },
  {
    name: "a Content-Length one over the limit",
    request: head("POST", "/", `Content-Length: ${BODY_LIMIT + 1}\r\n`) +
      bodyText(BODY_LIMIT + 1),
    status: 413,
    handler: "not called",
  },
  {
    name: "a Content-Length over the limit with Expect: 100-continue",
    request: head("POST", "/", `Content-Length: ${BODY_LIMIT + 1}\r\nExpect: 100-continue\r\n`),
    status: 413,
    handler: "not called",
  },
  {
    name: "one chunk over the limit",
    request: head("POST", "/", "Transfer-Encoding: chunked\r\n") +
      chunked([bodyText(BODY_LIMIT + 1)]),
    status: 413,
    handler: "swallowed",
  },
  {
    name: "chunks that grow past the limit",
    request: head("POST", "/", "Transfer-Encoding: chunked\r\n") +
      chunked([bodyText(BODY_LIMIT), "x"]),
    status: 413,
    handler: "swallowed",
  },
];

for (const { name, request, status, handler, body } of LIMIT_CASES) {
  Deno.test(`serveConnection() answers ${name} with ${status}`, async () => {
    const handled: string[] = [];
    await withServer(async (port) => {
      const client = await RawClient.connect(port);
      try {
        await client.send(request);
        const response = await within(client.read(), "the response");
        assertEquals(response.status, status);
        if (body !== undefined) {
          assertEquals(response.body, latin1(body));
          assertEquals(response.headers.get("connection"), null);
        } else {
          assertEquals(response.headers.get("connection"), "close");
          assertStringIncludes(response.text, "<h1>413 ");
          assert(await within(client.closedByServer(), "the close"));
        }
      } finally {
        client.close();
      }
    }, {
      limits: { maxBodyBytes: BODY_LIMIT },
      handler: async (request) => {
        try {
          const bytes = await request.arrayBuffer();
          handled.push("echoed");
          return new Response(bytes);
        } catch {
          handled.push("swallowed");
          return new Response("the handler swallowed it");
        }
      },
    });
    assertEquals(handled, handler === "not called" ? [] : [handler]);
  });
}

Deno.test("serveConnection() echoes three pipelined POSTs of both framings in order", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(
        head("POST", "/one", "Content-Length: 5\r\n") + "alpha" +
          head("POST", "/two", "Transfer-Encoding: chunked\r\n") + chunked(["be", "ta"]) +
          head("POST", "/three", "Content-Length: 5\r\nConnection: close\r\n") + "gamma",
      );
      for (const [path, text] of [["/one", "alpha"], ["/two", "beta"], ["/three", "gamma"]]) {
        const response = await within(client.read(), path);
        assertEquals(response.headers.get("x-path"), path);
        assertEquals(response.text, text);
      }
      assert(await within(client.closedByServer(), "the close"));
    } finally {
      client.close();
    }
  }, { handler: echo });
});

Deno.test("serveConnection() drains bodies the handler ignores and parses the next request", async () => {
  const paths: string[] = [];
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      // Both bodies spell requests; answering either would show a misplaced parse.
      const smuggled = head("GET", "/smuggled");
      await client.send(
        head("POST", "/one", `Content-Length: ${smuggled.length}\r\n`) + smuggled +
          head("POST", "/two", "Transfer-Encoding: chunked\r\n") +
          chunked([smuggled.slice(0, 10), smuggled.slice(10)], "lower", TRAILER) +
          head("GET", "/three", "Connection: close\r\n"),
      );
      for (const path of ["/one", "/two", "/three"]) {
        assertEquals((await within(client.read(), path)).text, path);
      }
      assert(await within(client.closedByServer(), "the close"));
    } finally {
      client.close();
    }
  }, {
    handler: (request) => {
      const path = new URL(request.url).pathname;
      paths.push(path);
      return new Response(path);
    },
  });
  assertEquals(paths, ["/one", "/two", "/three"]);
});

const DRAIN_LIMIT = 1024;

/** Unread bodies against `maxDrainBytes: DRAIN_LIMIT`: drained up to it, closed past it. */
const DRAIN_CASES: Array<{ name: string; request: string; drained: boolean }> = [
  {
    name: "a Content-Length body of exactly maxDrainBytes",
    request: head("POST", "/", `Content-Length: ${DRAIN_LIMIT}\r\n`) + bodyText(DRAIN_LIMIT),
    drained: true,
  },
  {
    name: "a chunked body of exactly maxDrainBytes",
    request: head("POST", "/", "Transfer-Encoding: chunked\r\n") +
      chunked([bodyText(1000), bodyText(DRAIN_LIMIT - 1000)]),
    drained: true,
  },
  {
    name: "a Content-Length body one over maxDrainBytes",
    request: head("POST", "/", `Content-Length: ${DRAIN_LIMIT + 1}\r\n`) +
      bodyText(DRAIN_LIMIT + 1),
    drained: false,
  },
  {
    name: "a chunked body over maxDrainBytes",
    request: head("POST", "/", "Transfer-Encoding: chunked\r\n") +
      chunked([bodyText(1000), bodyText(DRAIN_LIMIT)]),
    drained: false,
  },
];

for (const { name, request, drained } of DRAIN_CASES) {
  Deno.test(
    `serveConnection() ${drained ? "drains" : "closes after"} ${name} left unread`,
    async () => {
      const paths: string[] = [];
      await withServer(async (port) => {
        const client = await RawClient.connect(port);
        try {
          await client.send(request + head("GET", "/next", "Connection: close\r\n"));
          const response = await within(client.read(), "the response");
          assertEquals(response.text, "/");
          if (drained) {
            assertEquals(response.headers.get("connection"), null);
            assertEquals((await within(client.read(), "the next response")).text, "/next");
          } else if (request.includes("Content-Length")) {
            // With a known length the server can say so before it closes. (A
            // chunked body's size is only learnt by reading it, after the head
            // has gone out.)
            assertEquals(response.headers.get("connection"), "close");
          }
          // Past the limit, the pipelined GET is never answered.
          assert(await within(client.closedByServer(), "the close"));
        } finally {
          client.close();
        }
      }, {
        limits: { maxDrainBytes: DRAIN_LIMIT },
        handler: (request) => {
          const path = new URL(request.url).pathname;
          paths.push(path);
          return new Response(path);
        },
      });
      assertEquals(paths, drained ? ["/", "/next"] : ["/"]);
    },
  );
}

/**
 * Requests whose handler then waits for its signal; the client sends `then`
 * (if any) and leaves meanwhile.
 */
const WAITING_CASES: Array<{ name: string; request: string; readsBody: boolean; then?: string }> = [
  { name: "a GET", request: head("GET", "/wait"), readsBody: false },
  {
    name: "a POST whose body was read",
    request: head("POST", "/wait", "Content-Length: 5\r\n") + "hello",
    readsBody: true,
  },
  // The watch reads ahead without consuming, so it notices a client that
  // leaves while its body waits unread in the buffer.
  {
    name: "a POST whose body is left unread",
    request: head("POST", "/wait", "Content-Length: 5\r\n") + "hello",
    readsBody: false,
  },
  // The bytes of a pipelined request do not end the watch.
  {
    name: "a GET followed by a pipelined request",
    request: head("GET", "/wait"),
    readsBody: false,
    then: head("GET", "/next"),
  },
];

for (const { name, request, readsBody, then } of WAITING_CASES) {
  Deno.test(`serveConnection() aborts the signal of ${name} when the client leaves`, async () => {
    const waiting = Promise.withResolvers<void>();
    const aborted = Promise.withResolvers<void>();
    // Lets a handler whose signal never aborts return, so a failing test still ends.
    const release = Promise.withResolvers<void>();
    const logger = recordingLogger();
    await withServer(async (port) => {
      try {
        const client = await RawClient.connect(port);
        try {
          await client.send(request);
          await within(waiting.promise, "the handler");
          if (then !== undefined) await client.send(then);
        } finally {
          client.close();
        }
        await within(aborted.promise, "the abort");
      } finally {
        release.resolve();
      }
    }, {
      logger,
      handler: async (request) => {
        if (readsBody) await request.arrayBuffer();
        request.signal.addEventListener("abort", () => aborted.resolve(), { once: true });
        waiting.resolve();
        await Promise.race([aborted.promise, release.promise]);
        return new Response("too late");
      },
    });
    assertEquals(logger.errors, []);
  });
}

Deno.test("serveConnection() fails the body read and aborts the signal when an upload stops", async () => {
  const firstPiece = Promise.withResolvers<number>();
  const readFailure = Promise.withResolvers<unknown>();
  const aborted = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  let completed: Promise<void> | undefined;
  await withServer(async (port) => {
    try {
      const client = await RawClient.connect(port);
      try {
        await client.send(head("POST", "/upload", "Content-Length: 100000\r\n") + "x".repeat(1000));
        assert(await within(firstPiece.promise, "the first piece") > 0);
      } finally {
        client.close();
      }
      assert(await within(readFailure.promise, "the failed read") instanceof Error);
      // The handler is still running: the signal must not wait for it to return.
      await within(aborted.promise, "the abort");
    } finally {
      release.resolve();
    }
    await assertRejects(() => within(completed!, "completed"), Deno.errors.Interrupted);
  }, {
    handler: async (request, info) => {
      completed = info.completed;
      request.signal.addEventListener("abort", () => aborted.resolve(), { once: true });
      const reader = request.body!.getReader();
      try {
        for (let i = 0; i < 1000; i++) {
          const { done, value } = await reader.read();
          if (done) break;
          if (i === 0) firstPiece.resolve(value.length);
        }
        readFailure.resolve("the body ended normally");
      } catch (error) {
        readFailure.resolve(error);
      }
      await Promise.race([aborted.promise, release.promise]);
      return new Response("too late");
    },
  });
});

Deno.test("serveConnection() cancels a streamed response, aborts the signal and rejects completed when the client leaves", async () => {
  const cancelled = Promise.withResolvers<void>();
  const aborted = Promise.withResolvers<void>();
  let completed: Promise<void> | undefined;
  let pulls = 0;
  const piece = new Uint8Array(64 * 1024);
  const logger = recordingLogger();
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(head("GET", "/stream"));
      const response = await within(client.read(true), "the response head");
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("transfer-encoding"), "chunked");
    } finally {
      client.close();
    }
    await within(cancelled.promise, "the stream's cancel");
    await within(aborted.promise, "the abort");
    await assertRejects(() => within(completed!, "completed"), Deno.errors.Interrupted);
  }, {
    logger,
    handler: (request, info) => {
      completed = info.completed;
      request.signal.addEventListener("abort", () => aborted.resolve(), { once: true });
      // Bounded: 256 MiB at most, far more than the socket buffers hold.
      return new Response(
        new ReadableStream<Uint8Array>({
          pull: (controller) => {
            if (++pulls > 4096) controller.close();
            else controller.enqueue(piece);
          },
          cancel: () => cancelled.resolve(),
        }),
      );
    },
  });
  assert(pulls < 4096, `the stream was read to its end (${pulls} pulls)`);
  assertEquals(logger.errors, []);
});

Deno.test("serveConnection() leaves the signal alone after complete responses", async () => {
  const signals: AbortSignal[] = [];
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      for (
        const [request, expected] of [
          [head("GET", "/1"), "|false"],
          [head("POST", "/2", "Content-Length: 3\r\n") + "abc", "abc|false,false"],
          [
            head("POST", "/3", "Transfer-Encoding: chunked\r\n") + chunked(["de"]),
            "de|false,false,false",
          ],
          [head("GET", "/4"), "|false,false,false,false"],
        ]
      ) {
        await client.send(request);
        assertEquals((await within(client.read(), "the response")).text, expected);
      }
    } finally {
      client.close();
    }
  }, {
    handler: async (request) => {
      signals.push(request.signal);
      const body = await request.text();
      return new Response(`${body}|${signals.map((s) => s.aborted).join(",")}`);
    },
  });
  // The client has gone and the server has stopped: every exchange had ended first.
  assertEquals(signals.map((s) => s.aborted), [false, false, false, false]);
});

Deno.test("serveConnection() resolves completed only once the whole response is written", async () => {
  const pendingAtPull: boolean[] = [];
  let completed: Promise<void> | undefined;
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(head("GET", "/stream"));
      const response = await within(client.read(), "the response");
      assertEquals(response.text, "piece 1;piece 2;piece 3;");
      await within(completed!, "completed");
    } finally {
      client.close();
    }
  }, {
    handler: (_request, info) => {
      let settled = false;
      completed = info.completed;
      completed.then(() => settled = true, () => settled = true);
      let pulls = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull: (controller) => {
            pendingAtPull.push(!settled);
            if (++pulls > 3) controller.close();
            else controller.enqueue(latin1(`piece ${pulls};`));
          },
        }),
      );
    },
  });
  assertEquals(pendingAtPull, [true, true, true, true]);
});

Deno.test("serveConnection() reads a large upload only as the handler pulls it", async () => {
  const size = 5 * 1024 * 1024;
  const sent = 64 * 1024;
  const upload = head("POST", "/upload", `Content-Length: ${size}\r\n`);
  const firstPiece = Promise.withResolvers<number>();
  const respond = Promise.withResolvers<void>();
  let serverRead = 0;
  let accepted = 0;
  await withWrappedConnections(
    async (port) => {
      try {
        const client = await RawClient.connect(port);
        try {
          // Only the first 64 KiB of 5 MiB go out: a server that buffered the
          // body, or drained it all, would never answer.
          await client.send(upload + "x".repeat(sent));
          const piece = await within(firstPiece.promise, "the first piece");
          assert(piece > 0 && piece <= sent, `first piece: ${piece} bytes`);
          // A whole exchange on another connection gives a server that reads
          // ahead time to take in the rest of what was sent; this one must not.
          assertEquals(
            (await within(exchange(port, head("GET", "/other")), "other")).text,
            "other",
          );
          assert(
            serverRead < upload.length + sent,
            `the server read all ${serverRead} bytes sent before the handler asked for them`,
          );
          respond.resolve();
          const response = await within(client.read(), "the response");
          assertEquals(response.text, "enough");
          // More than maxDrainBytes remain unread, so the connection cannot go on.
          assertEquals(response.headers.get("connection"), "close");
          assert(await within(client.closedByServer(), "the close"));
        } finally {
          client.close();
        }
      } finally {
        respond.resolve();
      }
    },
    async (request) => {
      if (request.method === "GET") return new Response("other");
      const reader = request.body!.getReader();
      const { value } = await reader.read();
      reader.releaseLock();
      firstPiece.resolve(value?.length ?? 0);
      await respond.promise;
      return new Response("enough");
    },
    (conn) => {
      // The upload's connection is accepted first: the other one is opened
      // only once the handler has the upload's first piece.
      const counted = accepted++ === 0;
      return withReads(conn, async (p) => {
        const n = await conn.read(p);
        if (counted && n !== null) serverRead += n;
        return n;
      });
    },
  );
});

Deno.test("serveConnection() keeps framing when a handler's body read outlives its response", async () => {
  for (const framing of ["Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n"]) {
    const late = Promise.withResolvers<unknown>();
    await withServer(async (port) => {
      const client = await RawClient.connect(port);
      try {
        await client.send(head("POST", "/a", framing));
        const first = await within(client.read(), "the first response");
        assertEquals([first.status, first.text], [200, "early"]);
        const bodyBytes = framing.startsWith("Content") ? "hello" : "5\r\nhello\r\n0\r\n\r\n";
        await client.send(bodyBytes + head("GET", "/b"));
        const second = await within(client.read(), "the second response");
        assertEquals([second.status, second.text], [200, "GET /b"], framing);
        // The read the handler left running gets an error, never bytes of the next request.
        assert((await within(late.promise, "the late read")) instanceof TypeError, framing);
      } finally {
        client.close();
      }
    }, {
      handler: (request) => {
        if (request.method === "GET") return new Response(`GET ${new URL(request.url).pathname}`);
        request.body!.getReader().read().then(late.resolve, late.resolve);
        return new Response("early");
      },
    });
  }
});

Deno.test("serveConnection() keeps an echo with Expect: 100-continue alive", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send(head("PUT", "/e", "Content-Length: 5\r\nExpect: 100-continue\r\n"));
      const interim = await within(client.read(true), "the 100");
      assertEquals(interim.status, 100);
      await client.send("hello");
      const echoed = await within(client.read(), "the echo");
      assertEquals([echoed.status, echoed.text, echoed.headers.get("connection")], [
        200,
        "hello",
        null,
      ]);
      await client.send(head("PUT", "/again", "Content-Length: 2\r\n") + "hi");
      assertEquals((await within(client.read(), "the second echo")).text, "hi");
    } finally {
      client.close();
    }
  }, { handler: (request) => new Response(request.body) });
});

Deno.test("serveConnection() answers an HttpError of any status, and settles completed", async () => {
  const cases: [number, number, string][] = [
    [304, 304, ""],
    [204, 204, ""],
    [410, 410, "Gone"],
    [600, 500, "Internal Server Error"],
    [99, 500, "Internal Server Error"],
  ];
  for (const [thrown, status, text] of cases) {
    // Resolved with info.completed, so it follows that promise.
    const completed = Promise.withResolvers<void>();
    await withServer(async (port) => {
      const response = await within(
        exchange(port, head("GET", "/", "Connection: close\r\n")),
        `the answer to ${thrown}`,
      );
      assertEquals(response.status, status, String(thrown));
      assertStringIncludes(response.text, text);
      await within(completed.promise, `completed for ${thrown}`);
    }, {
      handler: (_request, info) => {
        completed.resolve(info.completed);
        throw new HttpError(thrown);
      },
    });
  }
});

// --- Body progress and requests per connection ----------------------------------------------

const STALL_MS = 300;

Deno.test("serveConnection() closes a connection whose request body stalls past bodyTimeoutMs", async () => {
  const failure = Promise.withResolvers<string>();
  const handler: Handler = async (request) => {
    try {
      await request.arrayBuffer();
      failure.resolve("read");
    } catch (error) {
      failure.resolve((error as Error).name);
    }
    return new Response("never sent");
  };
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
      const sent = performance.now();
      assert(await client.closedByServer());
      const waited = performance.now() - sent;
      assert(waited >= STALL_MS - 20, `closed after ${waited} ms`);
      assert(waited < STALL_MS + 2000, `closed after ${waited} ms`);
      assert(await within(failure.promise, "the handler's read") !== "read");
    } finally {
      client.close();
    }
    const next = await exchange(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(next.status, 200);
  }, { handler, limits: { bodyTimeoutMs: STALL_MS } });
});

Deno.test("serveConnection() keeps a slow request body that makes progress", async () => {
  const handler: Handler = async (request) => new Response(await request.text());
  // Each gap is a quarter of the timeout, so a loaded machine's late timer
  // (up to three quarters of it) cannot pass for a stall.
  const bodyTimeoutMs = 4 * STALL_MS;
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n");
      // Six bytes a quarter of the timeout apart: one and a half timeouts in
      // all, so only progress, not the total time, keeps the connection.
      for (const byte of "slowly") {
        await new Promise((resolve) => setTimeout(resolve, bodyTimeoutMs / 4));
        await client.send(byte);
      }
      const response = await client.read();
      assertEquals([response.status, response.text], [200, "slowly"]);
    } finally {
      client.close();
    }
  }, { handler, limits: { bodyTimeoutMs } });
});

Deno.test("serveConnection() does not count a handler's own time against bodyTimeoutMs", async () => {
  const handler: Handler = async () => {
    await new Promise((resolve) => setTimeout(resolve, 2 * STALL_MS));
    return new Response("worth the wait");
  };
  await withServer(async (port) => {
    const response = await exchange(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals([response.status, response.text], [200, "worth the wait"]);
  }, { handler, limits: { bodyTimeoutMs: STALL_MS } });
});

Deno.test("serveConnection() closes a connection whose client stops reading the response", async () => {
  const completed = Promise.withResolvers<string>();
  const logger = recordingLogger();
  // Far more than the socket buffers on both sides hold.
  const piece = new Uint8Array(1024 * 1024);
  const handler: Handler = (request, info) => {
    if (new URL(request.url).pathname === "/small") return new Response("small");
    info.completed.then(() => completed.resolve("sent"), (e) => completed.resolve(e.name));
    let left = 256;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (left-- === 0) controller.close();
        else controller.enqueue(piece);
      },
    });
    return new Response(body);
  };
  await withServer(async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(latin1("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
      // Read nothing: the server's writes stop making progress.
      assertEquals(await within(completed.promise, "completed"), "Interrupted");
      assertEquals(logger.errors, []);
      assertEquals(logger.lines.length, 1);
      assertStringIncludes(logger.lines[0], "incomplete");
    } finally {
      conn.close();
    }
    const next = await exchange(port, "GET /small HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals([next.status, next.text], [200, "small"]);
  }, { handler, logger, limits: { bodyTimeoutMs: STALL_MS } });
});

Deno.test("serveConnection() closes a connection after maxRequestsPerConnection requests", async () => {
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
      const first = await client.read();
      assertEquals([first.status, first.headers.get("connection")], [200, null]);
      const second = await client.read();
      assertEquals([second.status, second.headers.get("connection")], [200, "close"]);
      assert(await client.closedByServer());
    } finally {
      client.close();
    }
  }, { limits: { maxRequestsPerConnection: 2 } });
});
