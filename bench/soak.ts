/**
 * The soak test (`deno task soak`): starts the real server as a child process,
 * drives a million requests (by default) over pipelined keep-alive connections
 * written by hand, and compares the server's resident memory and open file
 * descriptors before and after. Not part of CI.
 *
 * ```sh
 * deno run --allow-all bench/soak.ts [--requests N] [--connections C] [--pipeline P] \
 *   [--workers W] [--max-seconds S] [--warmup N]
 * ```
 *
 * It needs `--allow-all`: Deno lets a program read `/proc/<pid>` of another
 * Deno process only with every permission, and the server is one.
 *
 * Exit codes: 0 when every response was as expected, resident memory grew by
 * less than 10 % and no descriptor was left open; 1 otherwise (or when the run
 * was cut short); 2 for a mistake on the command line; 130 after Ctrl-C.
 *
 * @module
 */

// ---------------------------------------------------------------------------
// Options

/** What the command line asks for. */
interface SoakOptions {
  /** Requests in the measured run (the warm-up comes on top). */
  readonly requests: number;
  /** Keep-alive connections driven at once. */
  readonly connections: number;
  /** Requests written back to back before the responses are read. */
  readonly pipeline: number;
  /** `--workers` for the server, or null to leave it out. */
  readonly workers: number | null;
  /** Time limit for the whole soak, in seconds. */
  readonly maxSeconds: number;
  /** Requests sent before the baseline is taken. */
  readonly warmup: number;
}

/** Flags that take a positive integer, with their defaults (null: not passed on). */
const NUMERIC_FLAGS = {
  requests: 1_000_000,
  connections: 50,
  pipeline: 16,
  workers: null,
  "max-seconds": 600,
  warmup: 100_000,
} as const;

type NumericFlag = keyof typeof NUMERIC_FLAGS;

const USAGE = "usage: soak.ts [--requests N] [--connections C] [--pipeline P] " +
  "[--workers W] [--max-seconds S] [--warmup N]";

/** A mistake on the command line; its message is one line. */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function isNumericFlag(name: string): name is NumericFlag {
  return Object.hasOwn(NUMERIC_FLAGS, name);
}

function parsePositive(flag: string, text: string | undefined): number {
  if (text === undefined) throw new UsageError(`--${flag} needs a value`);
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < 1) {
    throw new UsageError(`--${flag} must be a positive integer, got "${text}"`);
  }
  return Number(text);
}

/** Reads `--flag N` and `--flag=N` pairs into a map of numbers. */
function parseFlags(args: readonly string[]): Map<NumericFlag, number> {
  const values = new Map<NumericFlag, number>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"; ${USAGE}`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!isNumericFlag(name)) throw new UsageError(`unknown flag --${name}; ${USAGE}`);
    if (values.has(name)) throw new UsageError(`--${name} given twice`);
    const text = eq === -1 ? args[++i] : arg.slice(eq + 1);
    values.set(name, parsePositive(name, text));
  }
  return values;
}

function parseOptions(args: readonly string[]): SoakOptions {
  const flags = parseFlags(args);
  const get = (name: Exclude<NumericFlag, "workers">) => flags.get(name) ?? NUMERIC_FLAGS[name];
  return {
    requests: get("requests"),
    connections: get("connections"),
    pipeline: get("pipeline"),
    workers: flags.get("workers") ?? null,
    maxSeconds: get("max-seconds"),
    warmup: get("warmup"),
  };
}

// ---------------------------------------------------------------------------
// The document root

/** The files served during the soak: name → size in bytes. */
const CORPUS = {
  "small.txt": 12,
  "page.html": 4 * 1024,
  "blob.bin": 64 * 1024,
} as const;

type CorpusFile = keyof typeof CORPUS;

function fileContent(name: CorpusFile): Uint8Array {
  const size = CORPUS[name];
  if (name === "blob.bin") {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 131 + 7) & 0xff;
    return bytes;
  }
  const text = name === "small.txt" ? "hello, soak\n" : "<!doctype html><p>soak</p>\n";
  return new TextEncoder().encode(text.repeat(Math.ceil(size / text.length)).slice(0, size));
}

async function makeDocumentRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "portico-soak-" });
  for (const name of Object.keys(CORPUS) as CorpusFile[]) {
    await Deno.writeFile(`${root}/${name}`, fileContent(name));
  }
  return root;
}

// ---------------------------------------------------------------------------
// The server process

/** A running server. */
interface ServerProcess {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  /** Resolves with a description once the process has exited. */
  readonly exited: Promise<string>;
}

const REPO_ROOT = new URL("..", import.meta.url);
const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;
const URL_LINE = /^\s*http:\/\/127\.0\.0\.1:([0-9]+)\/\s*$/;

function serverArgs(root: string, workers: number | null): string[] {
  const args = [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-env=PORT",
    "--allow-sys=networkInterfaces",
    "--unstable-net",
    "--unstable-worker-options",
    "main.ts",
    "--root",
    root,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--quiet",
  ];
  if (workers !== null) args.push("--workers", String(workers));
  return args;
}

/** Resolves after `ms` with `value`; the timer is cleared by the returned cancel. */
function delay<T>(ms: number, value: T): { promise: Promise<T>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(value), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Reads the child's standard output line by line until the URL line, then
 * keeps draining it in the background so the pipe never fills.
 */
async function readPort(stdout: ReadableStream<Uint8Array>): Promise<number | null> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) return null;
    pending += value;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const match = URL_LINE.exec(line);
      if (match === null) continue;
      drain(reader);
      return Number(match[1]);
    }
  }
}

async function drain(reader: ReadableStreamDefaultReader<string>): Promise<void> {
  try {
    while (!(await reader.read()).done) {
      // Discarded: the server runs with --quiet.
    }
  } catch {
    // The process is gone.
  }
}

function describeStatus(status: Deno.CommandStatus): string {
  return status.signal === null
    ? `exited with code ${status.code}`
    : `was killed by ${status.signal}`;
}

async function startServer(child: Deno.ChildProcess): Promise<ServerProcess> {
  const exited = child.status.then(describeStatus);
  const timeout = delay(STARTUP_TIMEOUT_MS, "timeout" as const);
  const port = await Promise.race([readPort(child.stdout), exited, timeout.promise]);
  timeout.cancel();
  if (port === "timeout") {
    throw new Error(`server did not print its URL within ${STARTUP_TIMEOUT_MS / 1000} s`);
  }
  if (typeof port === "string" || port === null) {
    throw new Error(
      `server ${typeof port === "string" ? port : "closed its output"} before ` +
        "printing its URL",
    );
  }
  return { child, port, exited };
}

function spawnServer(root: string, workers: number | null): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: serverArgs(root, workers),
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** SIGTERM, then SIGKILL when the process has not exited within a bounded wait. */
async function stopServer(child: Deno.ChildProcess): Promise<void> {
  const signal = (name: Deno.Signal) => {
    try {
      child.kill(name);
    } catch {
      // Already exited.
    }
  };
  signal("SIGTERM");
  const timeout = delay(STOP_TIMEOUT_MS, "timeout" as const);
  const result = await Promise.race([child.status, timeout.promise]);
  timeout.cancel();
  if (result === "timeout") {
    console.error(`soak: server still running ${STOP_TIMEOUT_MS / 1000} s after SIGTERM; killing`);
    signal("SIGKILL");
    await child.status;
  }
}

// ---------------------------------------------------------------------------
// Process measurements (Linux /proc)

/** Resident memory and open descriptors of a process. */
interface ProcessSample {
  readonly rssKiB: number;
  readonly fds: number;
}

const SETTLE_POLL_MS = 50;
const SETTLE_STABLE_POLLS = 10;
const SETTLE_TIMEOUT_MS = 15_000;

function readRssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+([0-9]+) kB$/m.exec(status);
  // An exited process not yet reaped has a status without memory lines.
  if (match === null) throw new Deno.errors.NotFound(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

function countFds(pid: number): number {
  let count = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  return count;
}

function sampleProcess(pid: number): ProcessSample {
  return { rssKiB: readRssKiB(pid), fds: countFds(pid) };
}

/** A sample, or null when the process has gone. */
function trySample(pid: number): ProcessSample | null {
  try {
    return sampleProcess(pid);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Whether this program may read the server's `/proc` entries (Deno requires --allow-all). */
function canSample(pid: number): boolean {
  try {
    sampleProcess(pid);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return false;
    throw error;
  }
}

/**
 * Waits until the server's descriptor count has stopped changing (the client
 * sockets it was closing are gone), polling within a time limit, then samples.
 */
async function settledSample(pid: number): Promise<ProcessSample & { settled: boolean }> {
  const deadline = performance.now() + SETTLE_TIMEOUT_MS;
  let last = countFds(pid);
  let stable = 0;
  while (stable < SETTLE_STABLE_POLLS && performance.now() < deadline) {
    await delay(SETTLE_POLL_MS, undefined).promise;
    const now = countFds(pid);
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return { ...sampleProcess(pid), settled: stable >= SETTLE_STABLE_POLLS };
}

// ---------------------------------------------------------------------------
// Requests

/** One kind of request in the mix, with what a correct answer looks like. */
interface RequestKind {
  readonly label: string;
  readonly bytes: Uint8Array;
  readonly head: boolean;
  readonly status: number;
  /** The Content-Length a correct answer carries, or null when it is not checked. */
  readonly length: number | null;
}

const RANGE_BYTES = 100;

function requestBytes(method: string, path: string, extra: readonly string[] = []): Uint8Array {
  const lines = [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", ...extra, "", ""];
  return new TextEncoder().encode(lines.join("\r\n"));
}

function kind(
  label: string,
  method: "GET" | "HEAD",
  path: string,
  expect: { status: number; length: number | null },
  extra: readonly string[] = [],
): RequestKind {
  const bytes = requestBytes(method, path, extra);
  return { label, bytes, head: method === "HEAD", ...expect };
}

/**
 * The mix, sixteen requests long: mostly small and medium files, one large
 * one, HEADs, conditional GETs answered 304, a range and a 404.
 */
function requestMix(etags: ReadonlyMap<CorpusFile, string>): RequestKind[] {
  const get = (name: CorpusFile) => kind(`GET /${name}`, "GET", `/${name}`, ok(name));
  const head = (name: CorpusFile) => kind(`HEAD /${name}`, "HEAD", `/${name}`, ok(name));
  const conditional = (name: CorpusFile) =>
    kind(`GET /${name} If-None-Match`, "GET", `/${name}`, { status: 304, length: null }, [
      `If-None-Match: ${etags.get(name)}`,
    ]);
  const range = kind("GET /page.html Range", "GET", "/page.html", {
    status: 206,
    length: RANGE_BYTES,
  }, [`Range: bytes=0-${RANGE_BYTES - 1}`]);
  const missing = kind("GET /missing.txt", "GET", "/missing.txt", { status: 404, length: null });
  return [
    get("small.txt"),
    get("page.html"),
    head("page.html"),
    conditional("small.txt"),
    get("small.txt"),
    get("page.html"),
    range,
    get("blob.bin"),
    get("small.txt"),
    get("page.html"),
    head("small.txt"),
    conditional("page.html"),
    get("small.txt"),
    get("page.html"),
    head("page.html"),
    missing,
  ];
}

function ok(name: CorpusFile): { status: number; length: number } {
  return { status: 200, length: CORPUS[name] };
}

/** One batch of pipelined requests, as bytes to write and the kinds to expect. */
interface Batch {
  readonly bytes: Uint8Array;
  readonly kinds: readonly RequestKind[];
}

function buildBatch(mix: readonly RequestKind[], first: number, count: number): Batch {
  const kinds = Array.from({ length: count }, (_, i) => mix[(first + i) % mix.length]);
  const bytes = new Uint8Array(kinds.reduce((sum, k) => sum + k.bytes.length, 0));
  let offset = 0;
  for (const k of kinds) {
    bytes.set(k.bytes, offset);
    offset += k.bytes.length;
  }
  return { bytes, kinds };
}

// ---------------------------------------------------------------------------
// Responses

/** A response that cannot be framed or read; the connection is abandoned. */
class ResponseParseError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "ResponseParseError";
  }
}

/** The server closed the connection in the middle of a response or batch. */
class ConnectionClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConnectionClosedError";
  }
}

/** What the soak reads from a response head. */
interface ResponseHead {
  readonly status: number;
  readonly contentLength: number | null;
  readonly etag: string | null;
  readonly close: boolean;
}

const READ_BUFFER_BYTES = 64 * 1024;
const MAX_HEAD_BYTES = 16 * 1024;
const CR = 13;
const LF = 10;
const LATIN1 = new TextDecoder("latin1");

/** Buffered reads over one connection; `start..end` are bytes received and not yet used. */
interface ConnReader {
  readonly conn: Deno.Conn;
  buffer: Uint8Array;
  start: number;
  end: number;
}

function newReader(conn: Deno.Conn): ConnReader {
  return { conn, buffer: new Uint8Array(READ_BUFFER_BYTES), start: 0, end: 0 };
}

/** Reads more bytes after `end`, compacting first; throws on end of stream. */
async function fill(reader: ConnReader): Promise<void> {
  if (reader.start === reader.end) {
    reader.start = reader.end = 0;
  } else if (reader.end === reader.buffer.length) {
    reader.buffer.copyWithin(0, reader.start, reader.end);
    reader.end -= reader.start;
    reader.start = 0;
  }
  const n = await reader.conn.read(reader.buffer.subarray(reader.end));
  if (n === null) throw new ConnectionClosedError("server closed the connection mid-response");
  reader.end += n;
}

/** Index just past the blank line ending the head, or -1 when it has not all arrived. */
function findHeadEnd(reader: ConnReader, from: number): number {
  const { buffer, end } = reader;
  for (let i = buffer.indexOf(CR, from); i !== -1 && i + 3 < end; i = buffer.indexOf(CR, i + 1)) {
    if (buffer[i + 1] === LF && buffer[i + 2] === CR && buffer[i + 3] === LF) return i + 4;
  }
  return -1;
}

function parseStatusLine(line: string): number {
  if (!line.startsWith("HTTP/1.1 ") || !/^[1-5][0-9]{2}( |$)/.test(line.slice(9))) {
    throw new ResponseParseError(`bad status line: ${JSON.stringify(line.slice(0, 60))}`);
  }
  return Number(line.slice(9, 12));
}

function parseContentLength(value: string, previous: number | null): number {
  if (!/^[0-9]{1,15}$/.test(value)) {
    throw new ResponseParseError(`bad Content-Length: ${JSON.stringify(value)}`);
  }
  const length = Number(value);
  if (previous !== null && previous !== length) {
    throw new ResponseParseError("conflicting Content-Length fields");
  }
  return length;
}

/** Parses a complete response head (ASCII, CRLF line ends, blank line excluded). */
function parseHead(text: string): ResponseHead {
  const lines = text.split("\r\n");
  const status = parseStatusLine(lines[0]);
  let contentLength: number | null = null;
  let etag: string | null = null;
  let close = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ResponseParseError(`bad header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-length") contentLength = parseContentLength(value, contentLength);
    else if (name === "transfer-encoding") {
      throw new ResponseParseError(`unexpected Transfer-Encoding: ${value}`);
    } else if (name === "etag") etag = value;
    else if (name === "connection") close = /(^|,)\s*close\s*(,|$)/i.test(value);
  }
  return { status, contentLength, etag, close };
}

async function readHead(reader: ConnReader): Promise<ResponseHead> {
  let scanned = reader.start;
  while (true) {
    const headEnd = findHeadEnd(reader, scanned);
    if (headEnd !== -1) {
      const text = LATIN1.decode(reader.buffer.subarray(reader.start, headEnd - 4));
      reader.start = headEnd;
      return parseHead(text);
    }
    if (reader.end - reader.start >= MAX_HEAD_BYTES) {
      throw new ResponseParseError(`response head longer than ${MAX_HEAD_BYTES} bytes`);
    }
    scanned = Math.max(reader.start, reader.end - 3);
    const before = reader.start;
    await fill(reader);
    scanned -= before - reader.start; // fill() may have moved the bytes to the front
  }
}

/** Consumes `length` body bytes without keeping them. */
async function skipBody(reader: ConnReader, length: number): Promise<void> {
  let remaining = length;
  while (true) {
    const take = Math.min(remaining, reader.end - reader.start);
    reader.start += take;
    remaining -= take;
    if (remaining === 0) return;
    await fill(reader);
  }
}

/** RFC 9112 §6.3: responses to HEAD and 1xx, 204 and 304 responses never have a body. */
function hasBody(head: ResponseHead, forHead: boolean): boolean {
  return !forHead && head.status >= 200 && head.status !== 204 && head.status !== 304;
}

/** Reads one whole response; returns its head. */
async function readResponse(reader: ConnReader, forHead: boolean): Promise<ResponseHead> {
  const head = await readHead(reader);
  // No request here expects an interim answer; the final one would follow it.
  if (head.status < 200) throw new ResponseParseError(`unexpected ${head.status} response`);
  if (hasBody(head, forHead)) {
    // Responses here are all framed by length; reading to close would end keep-alive.
    if (head.contentLength === null) {
      throw new ResponseParseError(`${head.status} response without Content-Length`);
    }
    await skipBody(reader, head.contentLength);
  }
  return head;
}

/** Why the answer to `kind` is wrong, or null when it is right. */
function checkResponse(kind: RequestKind, head: ResponseHead): string | null {
  if (head.status !== kind.status) {
    return `${kind.label}: expected ${kind.status}, got ${head.status}`;
  }
  if (kind.length !== null && head.contentLength !== kind.length) {
    return `${kind.label}: expected Content-Length ${kind.length}, got ${head.contentLength}`;
  }
  if (head.close) return `${kind.label}: server ended keep-alive (Connection: close)`;
  return null;
}

// ---------------------------------------------------------------------------
// Driving connections

/** Counters for one phase of the soak. */
interface Tally {
  served: number;
  readonly byClass: Record<"1xx" | "2xx" | "3xx" | "4xx" | "5xx", number>;
  readonly errors: Record<"connection" | "parse" | "unexpected", number>;
  /** The first few error messages, for the report. */
  readonly samples: string[];
}

type ErrorKind = keyof Tally["errors"];

const MAX_ERROR_SAMPLES = 5;

function newTally(): Tally {
  return {
    served: 0,
    byClass: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 },
    errors: { connection: 0, parse: 0, unexpected: 0 },
    samples: [],
  };
}

function totalErrors(tally: Tally): number {
  return tally.errors.connection + tally.errors.parse + tally.errors.unexpected;
}

function recordError(tally: Tally, kind: ErrorKind, message: string): void {
  tally.errors[kind]++;
  if (tally.samples.length < MAX_ERROR_SAMPLES) tally.samples.push(`${kind}: ${message}`);
}

function recordResponse(tally: Tally, status: number): void {
  tally.served++;
  const key = `${Math.floor(status / 100)}xx`;
  if (key in tally.byClass) tally.byClass[key as keyof Tally["byClass"]]++;
}

/**
 * What every connection of a phase shares: the request budget, the counters,
 * the open sockets (so that stopping can close them) and why it stopped.
 */
interface Phase {
  readonly port: number;
  readonly mix: readonly RequestKind[];
  readonly pipeline: number;
  readonly target: number;
  /** Requests handed out to connections and not given back. */
  claimed: number;
  readonly tally: Tally;
  readonly open: Set<Deno.Conn>;
  /** Called after every batch, for progress lines. */
  readonly onBatch: (phase: Phase) => void;
  /** When the last response arrived (for the stall watchdog). */
  lastProgress: number;
}

/** Why the whole soak has stopped early; shared by every phase. */
interface StopState {
  reason: string | null;
  /** Closes whatever the current phase has open. */
  current: Phase | null;
}

const MAX_CONNECT_FAILURES = 10;
const RECONNECT_DELAY_MS = 100;

function stopSoak(state: StopState, reason: string): void {
  if (state.reason !== null) return;
  state.reason = reason;
  for (const conn of state.current?.open ?? []) closeQuietly(conn);
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Opens a connection, retrying a few times; null when the server cannot be reached. */
async function connect(phase: Phase, state: StopState): Promise<ConnReader | null> {
  for (let failures = 0; state.reason === null; failures++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: phase.port });
      conn.setNoDelay(true);
      phase.open.add(conn);
      if (state.reason !== null) closeQuietly(conn); // stopped while connecting
      return newReader(conn);
    } catch (error) {
      if (state.reason !== null) return null;
      recordError(phase.tally, "connection", `connect: ${describeError(error)}`);
      if (failures + 1 >= MAX_CONNECT_FAILURES) {
        stopSoak(state, `cannot connect after ${MAX_CONNECT_FAILURES} attempts`);
        return null;
      }
      await delay(RECONNECT_DELAY_MS, undefined).promise;
    }
  }
  return null;
}

function claimBatch(phase: Phase): number {
  const count = Math.min(phase.pipeline, phase.target - phase.claimed);
  phase.claimed += count;
  return count;
}

/**
 * Writes one batch and reads its answers, counting them in `answered`;
 * throws when the connection is no longer usable.
 */
async function runBatch(
  phase: Phase,
  reader: ConnReader,
  batch: Batch,
  answered: { count: number },
): Promise<void> {
  await writeAll(reader.conn, batch.bytes);
  for (const kind of batch.kinds) {
    const head = await readResponse(reader, kind.head);
    answered.count++;
    recordResponse(phase.tally, head.status);
    phase.lastProgress = performance.now();
    const problem = checkResponse(kind, head);
    if (problem !== null) recordError(phase.tally, "unexpected", problem);
    if (head.close) throw new ConnectionClosedError("server announced Connection: close");
  }
}

/** One keep-alive connection's loop: claim a batch, send it, read it; reopen on failure. */
async function driveConnection(phase: Phase, state: StopState, index: number): Promise<void> {
  let reader: ConnReader | null = null;
  let sent = index * 5; // each connection starts at a different point of the mix
  try {
    while (state.reason === null) {
      const count = claimBatch(phase);
      if (count === 0) return;
      reader ??= await connect(phase, state);
      if (reader === null) return;
      const answered = { count: 0 };
      try {
        await runBatch(phase, reader, buildBatch(phase.mix, sent, count), answered);
      } catch (error) {
        // Requests left unanswered go back to the budget, to be sent again.
        phase.claimed -= count - answered.count;
        if (state.reason !== null) return;
        const kind = error instanceof ResponseParseError ? "parse" : "connection";
        recordError(phase.tally, kind, describeError(error));
        reader = dropConnection(phase, reader);
      }
      sent += count;
      phase.onBatch(phase);
    }
  } finally {
    if (reader !== null) dropConnection(phase, reader);
  }
}

function dropConnection(phase: Phase, reader: ConnReader): null {
  phase.open.delete(reader.conn);
  closeQuietly(reader.conn);
  return null;
}

/** Runs `target` requests over `connections` connections; resolves when all are closed. */
async function runPhase(
  state: StopState,
  setup: Pick<Phase, "port" | "mix" | "pipeline" | "target" | "onBatch">,
  connections: number,
): Promise<Phase> {
  const phase: Phase = {
    ...setup,
    claimed: 0,
    tally: newTally(),
    open: new Set(),
    lastProgress: performance.now(),
  };
  state.current = phase;
  const count = Math.min(connections, Math.ceil(setup.target / setup.pipeline));
  await Promise.all(Array.from({ length: count }, (_, i) => driveConnection(phase, state, i)));
  state.current = null;
  return phase;
}

// ---------------------------------------------------------------------------
// ETags for the conditional requests

/** Asks once for every corpus file and keeps its ETag. */
async function fetchEtags(port: number): Promise<Map<CorpusFile, string>> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = newReader(conn);
  const etags = new Map<CorpusFile, string>();
  try {
    for (const name of Object.keys(CORPUS) as CorpusFile[]) {
      await writeAll(conn, requestBytes("GET", `/${name}`));
      const head = await readResponse(reader, false);
      if (head.status !== 200 || head.etag === null) {
        throw new Error(`GET /${name} gave ${head.status} ${head.etag ?? "without an ETag"}`);
      }
      etags.set(name, head.etag);
    }
  } finally {
    closeQuietly(conn);
  }
  return etags;
}

// ---------------------------------------------------------------------------
// Watchdogs: time limit, stalls, the server exiting, Ctrl-C

const STALL_LIMIT_MS = 30_000;
const WATCHDOG_INTERVAL_MS = 1_000;

/** Starts the watchdogs; the returned function stops them. */
function watch(state: StopState, server: ServerProcess, maxSeconds: number): () => void {
  const deadline = performance.now() + maxSeconds * 1000;
  const interval = setInterval(() => {
    const now = performance.now();
    if (now >= deadline) stopSoak(state, `time limit of ${maxSeconds} s reached`);
    const phase = state.current;
    if (phase !== null && now - phase.lastProgress > STALL_LIMIT_MS) {
      stopSoak(state, `no response for ${STALL_LIMIT_MS / 1000} s`);
    }
  }, WATCHDOG_INTERVAL_MS);
  let watching = true;
  server.exited.then((how) => {
    if (watching) stopSoak(state, `server ${how}`);
  });
  const onSignal = () => stopSoak(state, "interrupted");
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const name of signals) Deno.addSignalListener(name, onSignal);
  return () => {
    watching = false;
    clearInterval(interval);
    for (const name of signals) Deno.removeSignalListener(name, onSignal);
  };
}

// ---------------------------------------------------------------------------
// Reporting

/** Everything the report needs. */
interface Outcome {
  readonly options: SoakOptions;
  readonly warmup: Tally;
  readonly run: Tally;
  readonly seconds: number;
  readonly start: ProcessSample;
  /** The sample after the run, or null when the server could no longer be sampled. */
  readonly end: (ProcessSample & { settled: boolean }) | null;
  readonly stopReason: string | null;
}

const RSS_GROWTH_LIMIT = 0.10;

function formatMiB(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

function formatInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function rssGrowth(start: ProcessSample, end: ProcessSample): number {
  return (end.rssKiB - start.rssKiB) / start.rssKiB;
}

/** "start → end (growth)", or what is known without an end sample. */
function rssCell({ start, end }: Outcome): string {
  if (end === null) return `${formatMiB(start.rssKiB)} → (server gone)`;
  return `${formatMiB(start.rssKiB)} → ${formatMiB(end.rssKiB)} ` +
    `(${formatPercent(rssGrowth(start, end))})`;
}

function fdCell({ start, end }: Outcome): string {
  if (end === null) return `${start.fds} → (server gone)`;
  return `${start.fds} → ${end.fds}${end.settled ? "" : " (not settled)"}`;
}

function formatPercent(fraction: number): string {
  return `${fraction >= 0 ? "+" : ""}${(fraction * 100).toFixed(1)} %`;
}

/** The reasons the soak failed; empty when it passed. */
function failures(outcome: Outcome): string[] {
  const reasons: string[] = [];
  const errors = totalErrors(outcome.run) + totalErrors(outcome.warmup);
  if (outcome.stopReason !== null) reasons.push(`stopped early: ${outcome.stopReason}`);
  if (errors > 0) reasons.push(`${formatInt(errors)} errors`);
  const { start, end } = outcome;
  if (end === null) return [...reasons, "no final sample of the server"];
  const growth = rssGrowth(start, end);
  if (growth >= RSS_GROWTH_LIMIT) {
    reasons.push(`RSS grew by ${formatPercent(growth)} (limit +${RSS_GROWTH_LIMIT * 100} %)`);
  }
  if (end.fds > start.fds) reasons.push(`${end.fds - start.fds} more open descriptors`);
  if (!end.settled) reasons.push("descriptor count did not settle");
  return reasons;
}

function tallyLine(tally: Tally): string {
  const classes = Object.entries(tally.byClass)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${formatInt(n)}`)
    .join(", ");
  const e = tally.errors;
  return `${formatInt(tally.served)} (${classes || "none"}); errors ${
    formatInt(totalErrors(tally))
  }` +
    ` (connection ${e.connection}, parse ${e.parse}, unexpected ${e.unexpected})`;
}

/** The lines of the final report. */
function reportLines(outcome: Outcome): string[] {
  const { options, run, seconds } = outcome;
  const rate = run.served / seconds;
  const reasons = failures(outcome);
  const lines = [
    "",
    "portico soak report",
    `  connections     ${options.connections} keep-alive, ${options.pipeline} pipelined per batch` +
    (options.workers === null ? "" : `, server --workers ${options.workers}`),
    `  warm-up         ${tallyLine(outcome.warmup)}`,
    `  requests served ${tallyLine(run)}`,
    `  duration        ${seconds.toFixed(1)} s`,
    `  throughput      ${formatInt(rate)} req/s`,
    `  RSS             ${rssCell(outcome)}`,
    `  open FDs        ${fdCell(outcome)}`,
  ];
  for (const sample of [...outcome.warmup.samples, ...run.samples].slice(0, MAX_ERROR_SAMPLES)) {
    lines.push(`  error sample    ${sample}`);
  }
  lines.push(`  verdict         ${reasons.length === 0 ? "PASS" : `FAIL: ${reasons.join("; ")}`}`);
  return lines;
}

/** Header and one row, to paste into a note. */
function markdownRow(outcome: Outcome): string[] {
  const { options, run, seconds } = outcome;
  const cells = [
    new Date().toISOString().slice(0, 10),
    formatInt(run.served),
    `${options.connections} × ${options.pipeline}`,
    formatInt(totalErrors(run) + totalErrors(outcome.warmup)),
    `${seconds.toFixed(0)} s`,
    formatInt(run.served / seconds),
    rssCell(outcome),
    fdCell(outcome),
  ];
  return [
    "",
    "| date | requests | connections × pipeline | errors | duration | req/s | RSS | FDs |",
    `| ${cells.join(" | ")} |`,
  ];
}

function progressLine(phase: Phase, startedAt: number, pid: number): string {
  const seconds = (performance.now() - startedAt) / 1000;
  const sample = trySample(pid);
  const memory = sample === null
    ? "server not readable"
    : `RSS ${formatMiB(sample.rssKiB)}  FDs ${sample.fds}`;
  const percent = Math.floor((phase.tally.served / phase.target) * 100);
  return `  ${String(percent).padStart(3)} %  ${formatInt(phase.tally.served).padStart(11)} req` +
    `  ${formatInt(phase.tally.served / seconds).padStart(7)} req/s` +
    `  ${memory}  errors ${totalErrors(phase.tally)}`;
}

/** Prints a progress line each time another tenth of the run has been served. */
function progressPrinter(target: number, pid: number): (phase: Phase) => void {
  const startedAt = performance.now();
  let next = Math.ceil(target / 10);
  return (phase) => {
    if (phase.tally.served < next) return;
    while (next <= phase.tally.served) next += Math.ceil(target / 10);
    console.log(progressLine(phase, startedAt, pid));
  };
}

// ---------------------------------------------------------------------------
// The soak

/** The settled end sample, or null when the server has gone. */
async function finalSample(pid: number): Promise<Outcome["end"]> {
  try {
    return await settledSample(pid);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Warm-up, baseline, the measured run and the final sample, against a started server. */
async function soak(options: SoakOptions, server: ServerProcess): Promise<Outcome> {
  const { pid } = server.child;
  const state: StopState = { reason: null, current: null };
  const unwatch = watch(state, server, options.maxSeconds);
  try {
    const mix = requestMix(await fetchEtags(server.port));
    const base = { port: server.port, mix, pipeline: options.pipeline };
    console.log(`warming up with ${formatInt(options.warmup)} requests…`);
    const warmup = await runPhase(
      state,
      { ...base, target: options.warmup, onBatch: () => {} },
      options.connections,
    );
    const start = await settledSample(pid);
    console.log(
      `baseline: RSS ${formatMiB(start.rssKiB)}, ${start.fds} open FDs; ` +
        `driving ${formatInt(options.requests)} requests…`,
    );
    const began = performance.now();
    const onBatch = progressPrinter(options.requests, pid);
    const run = await runPhase(
      state,
      { ...base, target: options.requests, onBatch },
      options.connections,
    );
    const seconds = (performance.now() - began) / 1000;
    const end = await finalSample(pid);
    return {
      options,
      warmup: warmup.tally,
      run: run.tally,
      seconds,
      start,
      end,
      stopReason: state.reason,
    };
  } finally {
    unwatch();
  }
}

async function main(args: readonly string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let options: SoakOptions;
  try {
    options = parseOptions(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`soak: ${error.message}`);
    return 2;
  }
  const root = await makeDocumentRoot();
  let child: Deno.ChildProcess | null = null;
  try {
    child = spawnServer(root, options.workers);
    const server = await startServer(child);
    if (!canSample(child.pid)) {
      console.error(
        `soak: reading /proc/${child.pid} of the server needs --allow-all; run with -A`,
      );
      return 2;
    }
    console.log(`server pid ${child.pid} on port ${server.port}, serving ${root}`);
    const outcome = await soak(options, server);
    for (const line of [...reportLines(outcome), ...markdownRow(outcome)]) console.log(line);
    if (outcome.stopReason === "interrupted") return 130;
    return failures(outcome).length === 0 ? 0 : 1;
  } catch (error) {
    console.error(`soak: ${describeError(error)}`);
    return 1;
  } finally {
    if (child !== null) await stopServer(child);
    await Deno.remove(root, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
