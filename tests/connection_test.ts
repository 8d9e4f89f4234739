/**
 * Raw-socket tests of the connection loop against the real server: keep-alive,
 * pipelining, HTTP/1.0, bodies on static routes, malformed input, and the
 * server still serving after each.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes, join } from "../lib/deps.ts";
import { exchange, RawClient, recordingLogger, withServer, WWW } from "./_helpers.ts";

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
