/**
 * The soak test (`deno task soak`): starts portico (`main.ts`, as the
 * benchmark does) on a temporary site, sends 100,000 requests to warm it up
 * and then 1,000,000 (`--requests N`) over 50 keep-alive connections, 16
 * pipelined at a time: GETs of three sizes, HEADs, conditional GETs (304), a
 * range (206) and a 404. Every response's status and length is checked. It
 * passes when there was no error, the server's resident memory grew by less
 * than 10 % from after the warm-up to the end, and no descriptor was left open.
 *
 * ```sh
 * deno run --allow-all bench/soak.ts [--requests N]
 * ```
 *
 * It needs `--allow-all`: Deno lets a program read `/proc/<pid>` of another
 * Deno process only with every permission. Exit codes: 0 pass, 1 fail, 2 for
 * a mistake on the command line, 130 after Ctrl-C.
 *
 * @module
 */

import { closeAll, freePort, get, HOST } from "./_http.ts";
import { porticoLaunch, REPO, type Server, startServer, stopServer } from "./_servers.ts";

const USAGE = "usage: deno run -A bench/soak.ts [--requests N]";
const WARMUP_REQUESTS = 100_000;
const CONNECTIONS = 50;
const PIPELINE = 16;
/** The whole soak's time limit. */
const LIMIT_MS = 600_000;
/** A batch not answered within this is a stall: its connection is closed and an error counted. */
const BATCH_LIMIT_MS = 30_000;
const RSS_GROWTH_LIMIT = 0.10;

/** The site: file name → size. */
const FILES = { "small.txt": 12, "page.html": 4096, "blob.bin": 65536 } as const;
type FileName = keyof typeof FILES;

/** One request of the mix, and what a right answer has. */
interface Kind {
  readonly label: string;
  readonly bytes: Uint8Array;
  readonly head: boolean;
  readonly status: number;
  /** The Content-Length of a right answer, or null when it is not checked. */
  readonly length: number | null;
}

function kind(
  method: string,
  path: string,
  status: number,
  length: number | null,
  extra = "",
): Kind {
  const bytes = new TextEncoder().encode(
    `${method} ${path} HTTP/1.1\r\nHost: ${HOST}\r\n${extra}\r\n`,
  );
  return {
    label: `${method} ${path}${extra === "" ? "" : ` ${extra.split(":")[0]}`}`,
    bytes,
    head: method === "HEAD",
    status,
    length,
  };
}

/** The mix, sixteen long: mostly small and medium files, one large, HEADs, 304s, a range, a 404. */
function requestMix(etags: ReadonlyMap<FileName, string>): Kind[] {
  const get = (name: FileName) => kind("GET", `/${name}`, 200, FILES[name]);
  const head = (name: FileName) => kind("HEAD", `/${name}`, 200, FILES[name]);
  const cached = (name: FileName) =>
    kind("GET", `/${name}`, 304, null, `If-None-Match: ${etags.get(name)}\r\n`);
  return [
    get("small.txt"),
    get("page.html"),
    head("page.html"),
    cached("small.txt"),
    get("small.txt"),
    get("page.html"),
    kind("GET", "/page.html", 206, 100, "Range: bytes=0-99\r\n"),
    get("blob.bin"),
    get("small.txt"),
    get("page.html"),
    head("small.txt"),
    cached("page.html"),
    get("small.txt"),
    get("page.html"),
    head("page.html"),
    kind("GET", "/missing.txt", 404, null),
  ];
}

/** What the soak reads from a response head. */
interface Head {
  readonly status: number;
  readonly length: number | null;
  readonly close: boolean;
}

/** Reads pipelined responses from one connection; `start..end` of the buffer are unread bytes. */
class ResponseReader {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(128 * 1024);
  #start = 0;
  #end = 0;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Reads more bytes after the unread ones, moving them to the front first. */
  async #fill(): Promise<void> {
    this.#buffer.copyWithin(0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#start = 0;
    if (this.#end === this.#buffer.length) throw new SyntaxError("response head too long");
    const n = await this.#conn.read(this.#buffer.subarray(this.#end));
    if (n === null) throw new Error("server closed the connection mid-response");
    this.#end += n;
  }

  /** Reads one whole response and returns its head; bodies are skipped. */
  async next(forHead: boolean): Promise<Head> {
    let end: number;
    while ((end = this.#headEnd()) === -1) await this.#fill();
    const [statusLine, ...fields] = new TextDecoder("latin1")
      .decode(this.#buffer.subarray(this.#start, end)).split("\r\n");
    this.#start = end + 4;
    if (!/^HTTP\/1\.1 [1-5][0-9]{2}( |$)/.test(statusLine)) {
      throw new SyntaxError(`bad status line: ${JSON.stringify(statusLine.slice(0, 60))}`);
    }
    const status = Number(statusLine.slice(9, 12));
    const field = (name: string) =>
      fields.find((line) => line.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1)
        .trim();
    const length = field("content-length") === undefined ? null : Number(field("content-length"));
    // RFC 9112 §6.3: responses to HEAD, and 1xx, 204 and 304 responses, have no body.
    if (!forHead && status >= 200 && status !== 204 && status !== 304) {
      if (length === null || !Number.isSafeInteger(length)) {
        throw new SyntaxError(`${status} response without a usable Content-Length`);
      }
      for (let left = length; left > 0;) {
        if (this.#start === this.#end) await this.#fill();
        const take = Math.min(left, this.#end - this.#start);
        this.#start += take;
        left -= take;
      }
    }
    return { status, length, close: /\bclose\b/i.test(field("connection") ?? "") };
  }

  #headEnd(): number {
    for (
      let i = this.#buffer.indexOf(13, this.#start);
      i !== -1 && i + 3 < this.#end;
      i = this.#buffer.indexOf(13, i + 1)
    ) {
      if (this.#buffer[i + 1] === 10 && this.#buffer[i + 2] === 13 && this.#buffer[i + 3] === 10) {
        return i;
      }
    }
    return -1;
  }
}

/** Counters of one phase. */
interface Tally {
  served: number;
  errors: number;
  /** The first few error messages. */
  readonly samples: string[];
}

function recordError(tally: Tally, message: string): void {
  tally.errors++;
  if (tally.samples.length < 5) tally.samples.push(message);
}

/** Why a right answer to `kind` is not this one, or null. */
function problem(kind: Kind, head: Head): string | null {
  if (head.status !== kind.status) {
    return `${kind.label}: expected ${kind.status}, got ${head.status}`;
  }
  if (kind.length !== null && head.length !== kind.length) {
    return `${kind.label}: expected Content-Length ${kind.length}, got ${head.length}`;
  }
  return head.close ? `${kind.label}: the server closed the connection` : null;
}

/**
 * Sends `total` requests of the mix over the connections, a batch of
 * pipelined requests at a time, until done or `stop.reason` is set. A failed
 * batch counts one error and its connection is replaced.
 */
async function drive(
  port: number,
  mix: readonly Kind[],
  total: number,
  stop: { reason: string | null },
  onBatch: (tally: Tally) => void,
): Promise<Tally> {
  const tally: Tally = { served: 0, errors: 0, samples: [] };
  let claimed = 0;
  const connection = async (index: number) => {
    let conn: Deno.TcpConn | null = null;
    let reader: ResponseReader | null = null;
    for (let sent = index * 5; stop.reason === null && claimed < total;) {
      const kinds = Array.from(
        { length: Math.min(PIPELINE, total - claimed) },
        (_, i) => mix[(sent + i) % mix.length],
      );
      claimed += kinds.length;
      sent += kinds.length;
      const stall = setTimeout(() => closeAll(conn === null ? [] : [conn]), BATCH_LIMIT_MS);
      try {
        conn ??= await Deno.connect({ hostname: HOST, port });
        reader ??= new ResponseReader(conn);
        const bytes = new Uint8Array(kinds.reduce((sum, k) => sum + k.bytes.length, 0));
        let at = 0;
        for (const k of kinds) {
          bytes.set(k.bytes, at);
          at += k.bytes.length;
        }
        for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
        for (const kind of kinds) {
          const head = await reader.next(kind.head);
          tally.served++;
          const wrong = problem(kind, head);
          if (wrong !== null) recordError(tally, wrong);
          if (head.close) throw new Error("connection closed by the server");
        }
      } catch (error) {
        if (stop.reason !== null) break;
        recordError(
          tally,
          error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        );
        closeAll(conn === null ? [] : [conn]);
        conn = reader = null;
      } finally {
        clearTimeout(stall);
      }
      onBatch(tally);
    }
    closeAll(conn === null ? [] : [conn]);
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => connection(i)));
  return tally;
}

/** Resident memory (KiB) and open descriptors of a process. */
function sample(pid: number): { rssKiB: number; fds: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rssKiB = Number(/^VmRSS:\s+([0-9]+) kB$/m.exec(status)?.[1]);
  if (Number.isNaN(rssKiB)) throw new Error(`no VmRSS for process ${pid}: it has exited`);
  return { rssKiB, fds: [...Deno.readDirSync(`/proc/${pid}/fd`)].length };
}

/** A sample once the descriptor count has held still for 10 polls 50 ms apart (15 s at most). */
async function settledSample(
  pid: number,
): Promise<{ rssKiB: number; fds: number; settled: boolean }> {
  let last = sample(pid).fds;
  let still = 0;
  for (const deadline = performance.now() + 15_000; still < 10 && performance.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const fds = sample(pid).fds;
    still = fds === last ? still + 1 : 0;
    last = fds;
  }
  return { ...sample(pid), settled: still >= 10 };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

/** Warm-up, baseline, the measured run, the final sample and the verdict; returns the exit code. */
async function soak(server: Server, requests: number): Promise<number> {
  const stop = { reason: null as string | null };
  const timer = setTimeout(
    () => stop.reason ??= `time limit of ${LIMIT_MS / 1000} s reached`,
    LIMIT_MS,
  );
  const onSignal = () => stop.reason ??= "interrupted";
  Deno.addSignalListener("SIGINT", onSignal);
  server.child.status.then(() => stop.reason ??= "the server exited");
  try {
    const etags = new Map<FileName, string>();
    for (const name of Object.keys(FILES) as FileName[]) {
      etags.set(name, (await get(server.port, `/${name}`)).headers.get("etag") ?? "none");
    }
    const mix = requestMix(etags);
    console.log(`warming up with ${int(WARMUP_REQUESTS)} requests…`);
    const warmup = await drive(server.port, mix, WARMUP_REQUESTS, stop, () => {});
    const before = await settledSample(server.pid);
    console.log(
      `baseline: RSS ${mib(before.rssKiB)}, ${before.fds} open FDs; ${int(requests)} requests…`,
    );
    const began = performance.now();
    let next = requests / 10;
    const run = await drive(server.port, mix, requests, stop, (tally) => {
      if (tally.served < next) return;
      next += requests / 10;
      const rate = tally.served / ((performance.now() - began) / 1000);
      const now = (() => {
        try {
          const { rssKiB, fds } = sample(server.pid);
          return `RSS ${mib(rssKiB)}  FDs ${fds}`;
        } catch {
          return "server gone";
        }
      })();
      console.log(`  ${int(tally.served)} req  ${int(rate)} req/s  ${now}  errors ${tally.errors}`);
    });
    const seconds = (performance.now() - began) / 1000;
    const after = await settledSample(server.pid).catch(() => null);
    const errors = warmup.errors + run.errors;
    const growth = after === null ? NaN : (after.rssKiB - before.rssKiB) / before.rssKiB;
    const failures = [
      stop.reason === null ? "" : `stopped early: ${stop.reason}`,
      errors === 0 ? "" : `${int(errors)} errors`,
      after === null ? "no final sample of the server" : "",
      growth >= RSS_GROWTH_LIMIT ? `RSS grew by ${(growth * 100).toFixed(1)} % (limit 10 %)` : "",
      after !== null && after.fds > before.fds
        ? `${after.fds - before.fds} more open descriptors`
        : "",
      after !== null && !after.settled ? "the descriptor count did not settle" : "",
    ].filter((reason) => reason !== "");
    console.log([
      "",
      "portico soak report",
      `  requests   ${int(run.served)} in ${seconds.toFixed(1)} s (${
        int(run.served / seconds)
      } req/s), ` +
      `${CONNECTIONS} connections × ${PIPELINE} pipelined, after ${int(warmup.served)} to warm up`,
      `  RSS        ${mib(before.rssKiB)} → ${
        after === null ? "?" : `${mib(after.rssKiB)} (${(growth * 100).toFixed(1)} %)`
      }`,
      `  open FDs   ${before.fds} → ${after?.fds ?? "?"}`,
      `  errors     ${int(errors)}`,
      ...[...warmup.samples, ...run.samples].slice(0, 5).map((text) => `  error      ${text}`),
      `  verdict    ${failures.length === 0 ? "PASS" : `FAIL: ${failures.join("; ")}`}`,
    ].join("\n"));
    return stop.reason === "interrupted" ? 130 : failures.length === 0 ? 0 : 1;
  } finally {
    clearTimeout(timer);
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

async function main(args: readonly string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  // "--requests N" and "--requests=N" alike.
  const match = /^--requests=([1-9][0-9]{0,8})$/.exec(args.join("="));
  if (args.length > 0 && match === null) {
    console.error(`soak: ${USAGE}`);
    return 2;
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    console.error("soak: run with --allow-all (-A): it reads /proc of the server, a Deno process");
    return 2;
  }
  const root = await Deno.makeTempDir({ prefix: "portico-soak-" });
  let server: Server | null = null;
  try {
    for (const [name, size] of Object.entries(FILES)) {
      await Deno.writeFile(`${root}/${name}`, new Uint8Array(size).map((_, i) => 97 + i % 26));
    }
    const port = freePort();
    const plan = {
      key: "ours",
      port,
      workers: 1,
      corpus: root,
      prefix: root,
      checkout: REPO,
      config: null,
      tls: null,
    } as const;
    await Deno.writeTextFile(`${root}/12b`, "hello world\n"); // the file the start waits for
    server = await startServer(porticoLaunch(Deno.execPath(), plan), port);
    console.log(`server pid ${server.pid} on port ${port}, serving ${root}`);
    return await soak(server, match === null ? 1_000_000 : Number(match[1]));
  } catch (error) {
    console.error(`soak: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    if (server !== null) await stopServer(server);
    await Deno.remove(root, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
