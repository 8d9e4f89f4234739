/**
 * An experiment: latency percentiles at 1,000 keep-alive connections for the
 * two ways a Deno program can serve TCP, with no HTTP work in the way.
 *
 * ```sh
 * deno run -A --unstable-net bench/tail_latency.ts [--seconds 5]
 * ```
 *
 * - `Deno.listen loop`: `Deno.listen` and `conn.read`/`conn.write`, as
 *   portico uses them, answering every request with the same prepared
 *   4 KiB response (requests are counted by the empty line ending a head).
 * - `Deno.serve`: Deno's built-in server (accept, reads and writes in Rust)
 *   answering with the same body.
 *
 * Each is loaded with `wrk -t1 -c1000 --latency` on 127.0.0.1 and the
 * percentiles are printed as a Markdown table. When the first has a long
 * tail and the second does not, the tail comes from the runtime's TCP path
 * under many connections, not from the HTTP layer above it.
 *
 * @module
 */

const BODY = "x".repeat(4096);
const RESPONSE = new TextEncoder().encode(
  `HTTP/1.1 200 OK\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY}`,
);
const CONNECTIONS = 1000;

/** Counts the heads that end in `buf[0, n)`, carrying a partial match over in `state`. */
function countHeads(buf: Uint8Array, n: number, state: { matched: number }): number {
  const pattern = [0x0d, 0x0a, 0x0d, 0x0a];
  let heads = 0;
  for (let i = 0; i < n; i++) {
    state.matched = buf[i] === pattern[state.matched] ? state.matched + 1 : buf[i] === 0x0d ? 1 : 0;
    if (state.matched === 4) {
      heads++;
      state.matched = 0;
    }
  }
  return heads;
}

async function answer(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  const state = { matched: 0 };
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) return;
      for (let heads = countHeads(buf, n, state); heads > 0; heads--) {
        let written = 0;
        while (written < RESPONSE.length) written += await conn.write(RESPONSE.subarray(written));
      }
    }
  } catch {
    // The client went away.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** Starts a server; returns its port and how to stop it. */
function start(kind: string): { port: number; stop(): Promise<void> } {
  if (kind === "Deno.serve") {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(BODY),
    );
    return { port: server.addr.port, stop: () => server.shutdown() };
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        conn.setNoDelay(true);
        answer(conn); // ends when wrk closes the connection
      }
    } catch {
      // The listener was closed.
    }
  })();
  return {
    port: listener.addr.port,
    stop: async () => {
      listener.close();
      await accepting;
    },
  };
}

/** Runs wrk and returns its latency percentiles and request rate. */
async function load(port: number, seconds: number): Promise<Record<string, string>> {
  const command = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n 65536 2>/dev/null || ulimit -n 4096; exec wrk -t1 -c${CONNECTIONS} -d${seconds}s --latency "$0"`,
      `http://127.0.0.1:${port}/`,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const { stdout } = await command.output();
  const text = new TextDecoder().decode(stdout);
  const field = (re: RegExp) => re.exec(text)?.[1] ?? "?";
  return {
    "req/s": field(/Requests\/sec:\s+([\d.]+)/),
    p50: field(/\s50%\s+(\S+)/),
    p90: field(/\s90%\s+(\S+)/),
    p99: field(/\s99%\s+(\S+)/),
    timeouts: field(/timeout (\d+)/) === "?" ? "0" : field(/timeout (\d+)/),
  };
}

async function main(args: readonly string[]): Promise<number> {
  const at = args.indexOf("--seconds");
  const seconds = at === -1 ? 5 : Number(args[at + 1]);
  if (!Number.isInteger(seconds) || seconds < 1 || args.length > (at === -1 ? 0 : 2)) {
    console.error("usage: tail_latency.ts [--seconds N]");
    return 2;
  }
  const rows: string[] = [
    "| server | req/s | p50 | p90 | p99 | wrk timeouts |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const kind of ["Deno.listen loop", "Deno.serve"]) {
    const server = start(kind);
    try {
      const r = await load(server.port, seconds);
      rows.push(`| ${kind} | ${r["req/s"]} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.timeouts} |`);
    } finally {
      await server.stop();
    }
  }
  console.log(rows.join("\n"));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
