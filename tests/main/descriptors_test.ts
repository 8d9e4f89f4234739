/**
 * A process that runs out of file descriptors: the accept loop backs off
 * (logged once, no spinning), connections it holds are still answered, and
 * it serves again once descriptors are free.
 *
 * Waits are reads, process exits and bounded polls of the output; no timer
 * stands in for an event. The one deliberate pause keeps descriptors
 * exhausted for a while, so that the accept loop's retries can be checked.
 */

import { assert, assertEquals, assertStringIncludes, join } from "../_deps.ts";
import { POLL_LIMIT_MS, RawClient, until, within } from "../_helpers.ts";
import { MAIN, serveTaskArgs } from "./_main.ts";

/**
 * The child's descriptor limit. The program starts with about 25 open
 * (event loops, the worker's channels, standard streams, Deno's cache) and
 * serves with 26; 64 leaves room for Deno's own needs to grow while taking
 * only a few dozen held connections to exhaust.
 */
const DESCRIPTOR_LIMIT = 64;
/** At most this many connections are opened to exhaust the child. */
const MAX_HELD_CONNECTIONS = 300;
/** How long the exhaustion is held once seen, so the accept loop retries several times. */
const EXHAUSTION_MS = 400;
/** How long the server may take to serve again once descriptors are free. */
const RECOVERY_MS = 5000;
/** How long a stopped child may take to exit before it is killed. */
const EXIT_MS = 5000;
const ACCEPT_FAILED = "accepting connections failed";
const GET_HELLO = "GET /hello.txt HTTP/1.1\r\nHost: faults.test\r\n\r\n";

/**
 * The CPU time a process has used so far (user and system, all threads),
 * from Linux's /proc, whose clock ticks are 1/100 s. Deno lets a program read
 * /proc itself only with --allow-all, which `deno task test` does not grant,
 * so `cat` reads it.
 */
async function cpuMilliseconds(pid: number): Promise<number> {
  const output = await new Deno.Command("cat", {
    args: [`/proc/${pid}/stat`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stat = new TextDecoder().decode(output.stdout);
  assert(output.success, `cannot read /proc/${pid}/stat`);
  // Fields after the command name, which may contain spaces; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A child's output, read as it comes. */
interface Output {
  readonly text: string;
  /** Resolves at the end of the stream. */
  readonly done: Promise<void>;
  /** Stops reading and waits for the reader to finish. */
  cancel(): Promise<void>;
}

function collect(stream: ReadableStream<Uint8Array>): Output {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const done = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      text += value;
    }
  })();
  return {
    get text() {
      return text;
    },
    done,
    cancel: async () => {
      await reader.cancel().catch(() => {});
      await done.catch(() => {});
    },
  };
}

Deno.test("main.ts backs off when it runs out of file descriptors and recovers", async () => {
  const root = await Deno.makeTempDir({ prefix: "portico-faults-" });
  await Deno.writeTextFile(join(root, "hello.txt"), "hello\n");
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n ${DESCRIPTOR_LIMIT} && exec "$0" "$@"`,
      Deno.execPath(),
      ...serveTaskArgs(),
      MAIN,
      ...["--host", "127.0.0.1", "--port", "0", "--quiet", "--root", root],
      // Held connections must stay held until the test lets them go.
      ...["--idle-timeout", "60s"],
      // Every request opens the file, rather than being answered from memory.
      ...["--cache", "0"],
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exit: Deno.CommandStatus | null = null;
  const exited = child.status.then((status) => exit = status);
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  const held: RawClient[] = [];
  try {
    const port = await until("the URL on standard output", () => {
      if (exit !== null) throw new Error(`main.ts exited at start: ${stderr.text}`);
      const url = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout.text);
      return url === null ? null : Number(url[1]);
    });

    // Connections take the child's descriptors one at a time until accept()
    // fails. Each is opened only once the one before has been answered
    // (proof that the server accepted it), so that when accept() fails one
    // connection at most waits in the listen backlog; with the held ones
    // released, the backlog then always finds a free descriptor and recovery
    // is one run of failures rather than several.
    const failed = () => stderr.text.includes(ACCEPT_FAILED);
    const statuses: number[] = [];
    while (!failed()) {
      assert(held.length < MAX_HELD_CONNECTIONS, `${held.length} connections did not exhaust it`);
      const client = await RawClient.connect(port);
      held.push(client);
      await client.send(GET_HELLO);
      let status: number | null = null;
      client.read().then((response) => status = response.status, () => status = 0);
      await until("an answer or the accept failure", () => status !== null || failed());
      if (status !== null) statuses.push(status);
    }
    assertEquals(exit, null, "the server is still running");
    assert(statuses.length > 0 && statuses[0] === 200, `statuses: ${statuses}`);

    // A connection it already holds is still answered, though no file can be opened.
    await held[0].send(GET_HELLO);
    const starved = await within(held[0].read(), POLL_LIMIT_MS);
    assert(starved !== null, "a held connection got no answer while descriptors ran out");
    assertEquals(starved.status, 503);
    assertEquals(starved.headers.get("retry-after"), "1");

    // Let the fault last: the loop retries (5, 10, 20 ... ms) without
    // logging again, and backs off rather than spin.
    const busyBefore = await cpuMilliseconds(child.pid);
    const holdStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, EXHAUSTION_MS));
    const busy = await cpuMilliseconds(child.pid) - busyBefore;
    const heldMs = performance.now() - holdStart;
    assert(
      busy < heldMs / 4,
      `the server used ${busy} ms of CPU in ${heldMs} ms out of descriptors`,
    );
    assertEquals(exit, null, "the server is still running");

    // Free the descriptors: each connection the server holds is half-closed
    // and its close awaited, so every descriptor is back before anything new
    // arrives (the one waiting in the backlog is simply closed).
    await Promise.all(held.map(async (client, i) => {
      if (!(statuses[i] > 0)) return client.close();
      await client.closeWrite();
      const closed = await client.closedByServer(POLL_LIMIT_MS);
      assert(closed, "the server did not close a connection whose client had finished");
    }));
    for (const client of held) client.close();
    const deadline = performance.now() + RECOVERY_MS;
    let answer = null;
    while (answer?.status !== 200 && performance.now() < deadline) {
      const client = await RawClient.connect(port);
      try {
        await client.send(
          "GET /hello.txt HTTP/1.1\r\nHost: faults.test\r\nConnection: close\r\n\r\n",
        );
        answer = await within(client.read().catch(() => null), deadline - performance.now());
      } finally {
        client.close();
      }
    }
    assert(answer !== null, `no answer within ${RECOVERY_MS} ms of freeing descriptors`);
    assertEquals(answer.status, 200);
    assertEquals(answer.text, "hello\n");

    const failures = stderr.text.split("\n").filter((line) => line.includes(ACCEPT_FAILED));
    assertEquals(failures.length, 1, `one line per run of failures:\n${stderr.text}`);
    assertStringIncludes(failures[0], "Too many open files");

    child.kill("SIGTERM");
    const status = await within(exited, EXIT_MS);
    assert(status !== null, `main.ts did not exit within ${EXIT_MS} ms of SIGTERM`);
    assertEquals(status.code, 0, stderr.text);
    await within(Promise.all([stdout.done, stderr.done]), POLL_LIMIT_MS);
    for (const fatal of ["unhandled", "uncaught", "panicked"]) {
      assert(!stderr.text.includes(fatal), `"${fatal}" on standard error:\n${stderr.text}`);
    }
  } finally {
    for (const client of held) client.close();
    if (exit === null) {
      try {
        child.kill("SIGTERM");
      } catch {
        // It has just exited.
      }
      if (await within(exited, EXIT_MS) === null) {
        try {
          child.kill("SIGKILL");
        } catch {
          // It has just exited.
        }
        await exited;
      }
    }
    await Promise.all([stdout.cancel(), stderr.cancel()]);
    await Deno.remove(root, { recursive: true });
  }
});
