/**
 * An experiment: is it faster to send a response head and its body in one
 * write, or in two writes on a socket with TCP_NODELAY set?
 *
 * ```sh
 * deno run -A bench/nodelay.ts [--duration 5s]
 * ```
 *
 * For every combination of write mode ({one write of head + body, two
 * writes} × {`setNoDelay(true)`, Nagle}), body size (12 B and 4 KiB) and
 * client connections (50 and 1) it starts a minimal keep-alive HTTP server in
 * this process on 127.0.0.1, points `wrk -t1 -c<N> -d<duration>` at it, and
 * closes it again. Each combination runs twice, the second round in reverse
 * mode order, so that drift on a shared machine shows up as a difference
 * between the two columns rather than as a bias against one mode. The result
 * is a Markdown table on stdout; progress goes to stderr.
 *
 * The server is deliberately not portico: it answers every request with the
 * same prepared bytes, so the only thing that differs between modes is how
 * those bytes reach the socket. Requests are delimited by the empty line
 * that ends their head (wrk sends no bodies); pipelined requests are
 * answered one after another.
 *
 * Exit codes: 0 on success; 1 when wrk is missing or fails; 2 for a mistake
 * on the command line.
 *
 * @module
 */

// ---------------------------------------------------------------------------
// Options

/** What the command line asks for. */
export interface NodelayOptions {
  /** The wrk duration of each run, as wrk accepts it (`3s`, `1m`). */
  readonly duration: string;
  /** The same duration in seconds. */
  readonly seconds: number;
}

const USAGE = "usage: nodelay.ts [--duration 5s]";
const DEFAULT_DURATION = "5s";
const DURATION_UNITS = { "": 1, s: 1, m: 60 } as const;

/** A mistake on the command line; its message is one line. */
export class UsageError extends Error {
  /** @param message What is wrong, with the usage appended where it helps. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses a wrk duration: a positive integer, optionally followed by `s` or `m`.
 *
 * @param text The flag's value.
 * @returns The duration in seconds.
 * @throws {UsageError} For anything else.
 *
 * @example
 * ```ts
 * parseDuration("3s"); // 3
 * parseDuration("2m"); // 120
 * ```
 */
export function parseDuration(text: string): number {
  const match = /^([1-9][0-9]{0,4})(s|m)?$/.exec(text);
  if (match === null) {
    throw new UsageError(`--duration must look like 5s or 1m, got "${text}"`);
  }
  const unit = (match[2] ?? "") as keyof typeof DURATION_UNITS;
  return Number(match[1]) * DURATION_UNITS[unit];
}

/**
 * Reads `--duration D` or `--duration=D`.
 *
 * @param args The command-line arguments.
 * @returns The options.
 * @throws {UsageError} For an unknown flag, a missing or invalid value, or a repeat.
 *
 * @example
 * ```ts
 * parseOptions(["--duration", "3s"]); // { duration: "3s", seconds: 3 }
 * ```
 */
export function parseOptions(args: readonly string[]): NodelayOptions {
  let duration: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (name !== "--duration") throw new UsageError(`unknown argument "${arg}"; ${USAGE}`);
    if (duration !== null) throw new UsageError("--duration given twice");
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--duration needs a value; ${USAGE}`);
    duration = value;
  }
  const chosen = duration ?? DEFAULT_DURATION;
  return { duration: chosen, seconds: parseDuration(chosen) };
}

// ---------------------------------------------------------------------------
// The fixed response

/** How the server writes each response. */
export interface WriteMode {
  /** A short label for the table. */
  readonly label: string;
  /** True: head and body in one write; false: head, then body. */
  readonly coalesce: boolean;
  /** The socket's TCP_NODELAY setting; false leaves Nagle's algorithm on. */
  readonly noDelay: boolean;
}

/** The four modes compared, in the order of the first round. */
export const MODES: readonly WriteMode[] = [
  { label: "1 write, nodelay", coalesce: true, noDelay: true },
  { label: "1 write, Nagle", coalesce: true, noDelay: false },
  { label: "2 writes, nodelay", coalesce: false, noDelay: true },
  { label: "2 writes, Nagle", coalesce: false, noDelay: false },
];

/** Body sizes compared, in bytes. */
const BODY_SIZES = [12, 4096] as const;

/** wrk connection counts compared; one connection shows per-response stalls best. */
const CONNECTIONS = [50, 1] as const;

/** A response prepared once: the head, the body, and both in one buffer. */
export interface FixedResponse {
  /** The status line and header section, ending in the empty line. */
  readonly head: Uint8Array;
  /** The body. */
  readonly body: Uint8Array;
  /** `head` followed by `body`. */
  readonly whole: Uint8Array;
}

/**
 * Builds a 200 response of about the size portico sends for a small static
 * file (~155 bytes of head) with a body of `size` bytes.
 *
 * @param size The body length.
 * @returns The prepared bytes.
 *
 * @example
 * ```ts
 * const response = fixedResponse(12);
 * response.whole.length === response.head.length + 12; // true
 * ```
 */
export function fixedResponse(size: number): FixedResponse {
  const text = "HTTP/1.1 200 OK\r\n" +
    "content-type: text/plain; charset=UTF-8\r\n" +
    "accept-ranges: bytes\r\n" +
    "date: Tue, 14 May 2024 09:30:00 GMT\r\n" +
    "server: portico\r\n" +
    `content-length: ${size}\r\n` +
    "\r\n";
  const head = new TextEncoder().encode(text);
  const body = new Uint8Array(size);
  const pattern = new TextEncoder().encode("hello world\n");
  for (let i = 0; i < size; i++) body[i] = pattern[i % pattern.length];
  const whole = new Uint8Array(head.length + size);
  whole.set(head);
  whole.set(body, head.length);
  return { head, body, whole };
}

// ---------------------------------------------------------------------------
// The server

/**
 * Finds the end of the first request head in `buf[from, to)`.
 *
 * @param buf The bytes received.
 * @param from Where the head starts.
 * @param to Where the received bytes end.
 * @returns The offset just past the CRLFCRLF, or -1 when it has not arrived.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * findHeadEnd(bytes, 0, bytes.length); // 27
 * ```
 */
export function findHeadEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 3 < to; i++) {
    if (buf[i] === 0x0d && buf[i + 1] === 0x0a && buf[i + 2] === 0x0d && buf[i + 3] === 0x0a) {
      return i + 4;
    }
  }
  return -1;
}

/** Writes every byte of `p`. */
async function writeAll(conn: Deno.Conn, p: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < p.length) offset += await conn.write(p.subarray(offset));
}

/** Sends one response in the given mode. */
async function send(conn: Deno.Conn, mode: WriteMode, response: FixedResponse): Promise<void> {
  if (mode.coalesce) {
    await writeAll(conn, response.whole);
  } else {
    await writeAll(conn, response.head);
    await writeAll(conn, response.body);
  }
}

const READ_BUFFER_BYTES = 16 * 1024;

/** Answers every request on `conn` until the client closes it or the buffer overflows. */
async function serveConnection(
  conn: Deno.TcpConn,
  mode: WriteMode,
  response: FixedResponse,
): Promise<void> {
  const buf = new Uint8Array(READ_BUFFER_BYTES);
  let end = 0;
  while (end < buf.length) {
    const n = await conn.read(buf.subarray(end));
    if (n === null) return;
    end += n;
    let start = 0;
    for (let next = findHeadEnd(buf, 0, end); next !== -1; next = findHeadEnd(buf, start, end)) {
      await send(conn, mode, response);
      start = next;
    }
    buf.copyWithin(0, start, end);
    end -= start;
  }
}

/** A running experiment server. */
interface TestServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening, closes every connection and waits for their tasks. */
  close(): Promise<void>;
}

/** Starts a server on an ephemeral port of 127.0.0.1 answering in `mode`. */
function startServer(mode: WriteMode, response: FixedResponse): TestServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.TcpConn>();
  const tasks = new Set<Promise<void>>();
  const accepting = (async () => {
    while (true) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return; // The listener was closed.
      }
      conns.add(conn);
      const task = (async () => {
        try {
          conn.setNoDelay(mode.noDelay);
          await serveConnection(conn, mode, response);
        } catch {
          // The client reset the connection, or close() closed it under a read.
        } finally {
          conns.delete(conn);
          closeQuietly(conn);
        }
      })();
      tasks.add(task);
      task.finally(() => tasks.delete(task));
    }
  })();
  return {
    port: listener.addr.port,
    async close() {
      closeQuietly(listener);
      await accepting;
      for (const conn of conns) closeQuietly(conn);
      await Promise.allSettled([...tasks]);
    },
  };
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed.
  }
}

// ---------------------------------------------------------------------------
// wrk

/** What one wrk run measured. */
export interface WrkResult {
  /** Requests per second. */
  readonly requestsPerSecond: number;
  /** Average latency in milliseconds. */
  readonly latencyMs: number;
  /** Socket errors plus non-2xx/3xx responses; 0 when wrk reported none. */
  readonly errors: number;
}

const LATENCY_UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * Extracts requests/sec, average latency and error counts from wrk's report.
 *
 * @param text wrk's standard output.
 * @returns The measurements.
 * @throws {SyntaxError} When the report lacks the Requests/sec or Latency line.
 *
 * @example
 * ```ts
 * parseWrkOutput("    Latency   1.50ms  0.1ms  3ms  90%\nRequests/sec:  123.40\n");
 * // { requestsPerSecond: 123.4, latencyMs: 1.5, errors: 0 }
 * ```
 */
export function parseWrkOutput(text: string): WrkResult {
  const rate = /^Requests\/sec:\s+([0-9.]+)\s*$/m.exec(text);
  const latency = /^\s*Latency\s+([0-9.]+)(us|ms|s|m|h)\s/m.exec(text);
  if (rate === null || latency === null) {
    throw new SyntaxError(`Unexpected wrk output: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const unit = latency[2] as keyof typeof LATENCY_UNIT_MS;
  let errors = 0;
  const socket = /^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/m
    .exec(text);
  if (socket !== null) errors += socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const non2xx = /^\s*Non-2xx or 3xx responses: (\d+)/m.exec(text);
  if (non2xx !== null) errors += Number(non2xx[1]);
  return {
    requestsPerSecond: Number(rate[1]),
    latencyMs: Number(latency[1]) * LATENCY_UNIT_MS[unit],
    errors,
  };
}

/** Extra seconds wrk gets beyond its duration before it is killed. */
const WRK_GRACE_SECONDS = 15;

/** Runs wrk against `port`; kills it if it is still running when this returns or throws. */
async function runWrk(
  port: number,
  connections: number,
  options: NodelayOptions,
): Promise<WrkResult> {
  const args = ["-t1", `-c${connections}`, `-d${options.duration}`, `http://127.0.0.1:${port}/`];
  const child = new Deno.Command("wrk", { args, stdout: "piped", stderr: "piped" }).spawn();
  let running = true;
  const timer = setTimeout(() => {
    if (running) killQuietly(child);
  }, (options.seconds + WRK_GRACE_SECONDS) * 1000);
  try {
    const output = await child.output();
    running = false;
    const stdout = new TextDecoder().decode(output.stdout);
    if (!output.success) {
      const stderr = new TextDecoder().decode(output.stderr).trim().split("\n")[0];
      throw new Error(`wrk failed (exit code ${output.code}): ${stderr || stdout.trim()}`);
    }
    return parseWrkOutput(stdout);
  } finally {
    clearTimeout(timer);
    if (running) killQuietly(child);
  }
}

function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // It has exited already.
  }
}

// ---------------------------------------------------------------------------
// The experiment

/** One table row: a mode at a body size and connection count, measured twice. */
export interface Row {
  /** Body bytes. */
  readonly bodyBytes: number;
  /** wrk connections. */
  readonly connections: number;
  /** The write mode. */
  readonly mode: WriteMode;
  /** The measurements, one per round. */
  readonly runs: readonly WrkResult[];
}

/** Starts a server in `mode`, runs wrk against it, and always closes the server. */
async function measure(
  mode: WriteMode,
  response: FixedResponse,
  connections: number,
  options: NodelayOptions,
): Promise<WrkResult> {
  const server = startServer(mode, response);
  try {
    return await runWrk(server.port, connections, options);
  } finally {
    await server.close();
  }
}

const ROUNDS = 2;

/** Runs every combination, each twice with the mode order reversed in the second round. */
async function runExperiment(options: NodelayOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const bodyBytes of BODY_SIZES) {
    const response = fixedResponse(bodyBytes);
    for (const connections of CONNECTIONS) {
      const runs = new Map<WriteMode, WrkResult[]>(MODES.map((mode) => [mode, []]));
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? MODES : [...MODES].reverse();
        for (const mode of order) {
          console.error(
            `round ${round + 1}: ${bodyBytes} B body, ${connections} conn, ${mode.label}…`,
          );
          runs.get(mode)!.push(await measure(mode, response, connections, options));
        }
      }
      for (const mode of MODES) rows.push({ bodyBytes, connections, mode, runs: runs.get(mode)! });
    }
  }
  return rows;
}

/**
 * Formats a latency in milliseconds for reading: microseconds below 1 ms.
 *
 * @param ms The latency.
 * @returns Text such as `412 µs` or `40.1 ms`.
 *
 * @example
 * ```ts
 * formatLatency(0.4123); // "412 µs"
 * ```
 */
export function formatLatency(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

/**
 * Renders the rows as a Markdown table, one column per round for each measure.
 *
 * @param rows The measurements.
 * @returns The table, ending in a newline.
 *
 * @example
 * ```ts
 * console.log(formatTable(rows));
 * ```
 */
export function formatTable(rows: readonly Row[]): string {
  const rounds = Math.max(0, ...rows.map((row) => row.runs.length));
  const numbers = Array.from({ length: rounds }, (_, i) => i + 1);
  const header = [
    "body",
    "conns",
    "mode",
    ...numbers.map((n) => `req/s #${n}`),
    ...numbers.map((n) => `avg latency #${n}`),
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < 3 ? " --- " : " ---: ")).join("|")}|`,
  ];
  for (const row of rows) {
    const cells = [
      row.bodyBytes >= 1024 ? `${row.bodyBytes / 1024} KiB` : `${row.bodyBytes} B`,
      String(row.connections),
      row.mode.label,
      ...row.runs.map((run) => Math.round(run.requestsPerSecond).toLocaleString("en-US")),
      ...row.runs.map((run) => formatLatency(run.latencyMs)),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n") + "\n";
}

/** Lists the runs in which wrk saw socket errors or bad responses. */
function errorNotes(rows: readonly Row[]): string[] {
  const notes: string[] = [];
  for (const row of rows) {
    row.runs.forEach((run, i) => {
      if (run.errors > 0) {
        notes.push(
          `- ${row.bodyBytes} B, ${row.connections} conn, ${row.mode.label}, run ${i + 1}: ` +
            `${run.errors} errors`,
        );
      }
    });
  }
  return notes;
}

/**
 * Runs the experiment and prints the table.
 *
 * @param args The command-line arguments.
 * @returns The exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  let options: NodelayOptions;
  try {
    options = parseOptions(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`nodelay.ts: ${error.message}`);
    return 2;
  }
  let rows: Row[];
  try {
    rows = await runExperiment(options);
  } catch (error) {
    const message = error instanceof Deno.errors.NotFound
      ? "wrk is not installed or not on PATH"
      : error instanceof Error
      ? error.message
      : String(error);
    console.error(`nodelay.ts: ${message}`);
    return 1;
  }
  const head = fixedResponse(BODY_SIZES[0]).head.length;
  console.log(
    `wrk -t1 -d${options.duration}; head ${head} B; ${navigator.hardwareConcurrency} CPUs ` +
      `shared by wrk and the server; rounds ${ROUNDS} (second in reverse mode order)\n`,
  );
  console.log(formatTable(rows));
  const notes = errorNotes(rows);
  if (notes.length > 0) console.log(`Runs with errors:\n${notes.join("\n")}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
