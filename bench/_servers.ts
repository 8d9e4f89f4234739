/**
 * The servers and their processes: finding the tools, each server's command
 * line (nginx with a generated configuration, portico with generated site
 * rules when a scenario asks for them, both over HTTPS with the run's
 * certificate when it asks for that), a start that waits until the
 * server answers, a stop that leaves nothing behind, the `/proc` readings,
 * and the git worktree that "base" runs from.
 *
 * @module
 */

import { HOST, waitUntilServing } from "./_http.ts";
import type { RuleLoad, ServerKey } from "./_scenarios.ts";

/** The repository this file belongs to, with a trailing slash. */
export const REPO: string = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** The executables the benchmark uses; null when missing. */
export interface Tools {
  /** The Deno running this program. */
  readonly deno: string;
  /** wrk, the load generator. */
  readonly wrk: string | null;
  /** nginx. */
  readonly nginx: string | null;
  /** python3, for `-m http.server`. */
  readonly python: string | null;
  /** taskset (util-linux), to pin servers and wrk to CPUs. */
  readonly taskset: string | null;
  /** openssl, to make the HTTPS scenarios' certificate. */
  readonly openssl: string | null;
  /** caddy. */
  readonly caddy: string | null;
  /** node, which runs serve and http-server. */
  readonly node: string | null;
  /** Bun's executable (installed from npm by `_peers.ts`). */
  readonly bun: string | null;
  /** serve's script (installed from npm by `_peers.ts`). */
  readonly serve: string | null;
  /** http-server's script (installed from npm by `_peers.ts`). */
  readonly httpServer: string | null;
}

/**
 * Finds an executable on PATH or in the sbin directories (nginx lives there).
 *
 * @param name The executable's name.
 * @returns Its path, or null.
 */
export function which(name: string): string | null {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/local/sbin", "/usr/sbin"];
  for (const dir of dirs.filter((dir) => dir !== "")) {
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // Not here.
    }
  }
  return null;
}

/**
 * Looks up every tool.
 *
 * @returns The tools; missing ones are null.
 */
export function findTools(): Tools {
  return {
    deno: Deno.execPath(),
    wrk: which("wrk"),
    nginx: which("nginx"),
    python: which("python3"),
    taskset: which("taskset"),
    openssl: which("openssl"),
    caddy: which("caddy"),
    node: which("node"),
    bun: null,
    serve: null,
    httpServer: null,
  };
}

/**
 * Runs a command to completion and returns its output; never throws.
 *
 * @param command The executable.
 * @param args Its arguments.
 * @param options Working directory, abort signal, extra environment.
 * @returns The exit code (-1 when it could not run) and both outputs.
 */
export async function capture(
  command: string,
  args: readonly string[],
  options: { cwd?: string; signal?: AbortSignal; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const output = await new Deno.Command(command, { args: [...args], stdin: "null", ...options })
      .output();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
  } catch (error) {
    return { code: -1, stdout: "", stderr: error instanceof Error ? error.message : String(error) };
  }
}

/** The files of an HTTPS server's certificate. */
export interface TlsFiles {
  /** The CA certificate that signed the leaf (PEM), for clients to verify it. */
  readonly ca: string;
  /** The leaf certificate (PEM), for 127.0.0.1. */
  readonly cert: string;
  /** The leaf's private key (PEM). */
  readonly key: string;
}

/** Where a server start reads and writes. */
export interface Plan {
  /** Which server. */
  readonly key: ServerKey;
  /** The port on 127.0.0.1. */
  readonly port: number;
  /** Worker processes or threads. */
  readonly workers: number;
  /** The document root. */
  readonly corpus: string;
  /** A fresh directory for nginx's configuration, pid and temp files. */
  readonly prefix: string;
  /** The checkout portico runs from (ours: this repository; base: the worktree). */
  readonly checkout: string;
  /** portico's `--config` file, or null for none; other servers have no use for it. */
  readonly config: string | null;
  /** The certificate to serve HTTPS with (portico and nginx), or null for plain HTTP. */
  readonly tls: TlsFiles | null;
}

/** A command line, and the directory it runs in. */
export interface Launch {
  /** The executable. */
  readonly command: string;
  /** Its arguments. */
  readonly args: string[];
  /** Its working directory. */
  readonly cwd: string;
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
}

/**
 * portico's command line: `main.ts` of a checkout, with the permissions of
 * `deno task serve`, run in that checkout (so its own deno.json applies),
 * with `--config` when the plan names a file and `--cert`/`--key` when it
 * has a certificate. Ours and base are started by this one function.
 *
 * @param deno The Deno executable.
 * @param plan Where it runs.
 * @returns The command line.
 *
 * @example
 * ```ts
 * porticoLaunch("deno", { key: "base", port: 8000, workers: 2, corpus: "/c", prefix: "/p",
 *   checkout: "/tmp/base", config: null, tls: null }).args.slice(-2); // ["--workers", "2"]
 * ```
 */
export function porticoLaunch(deno: string, plan: Plan): Launch {
  const args = [
    "run",
    "--unstable-net",
    "--unstable-worker-options",
    "--allow-net",
    "--allow-read",
    "--allow-env=PORT,DENO_TOKIO_MAX_IO_EVENTS_PER_TICK",
    "--allow-sys=networkInterfaces",
    "main.ts",
    ...["--root", plan.corpus, "--host", HOST, "--port", String(plan.port), "--quiet"],
    ...(plan.workers > 1 ? ["--workers", String(plan.workers)] : []),
    ...(plan.config === null ? [] : ["--config", plan.config]),
    ...(plan.tls === null ? [] : ["--cert", plan.tls.cert, "--key", plan.tls.key]),
  ];
  return { command: deno, args, cwd: plan.checkout };
}

/** The first segments of the rules' paths: sections of a site, none of them a corpus file. */
const RULE_SECTIONS = [
  "blog",
  "docs",
  "shop",
  "news",
  "help",
  "about",
  "legacy",
  "media",
  "events",
  "careers",
] as const;

/** The redirect statuses the rules cycle through. */
const RULE_STATUSES = [301, 302, 307, 308] as const;

/**
 * The field the header rule `/*` sets on every response; portico sends no
 * such field of its own, so its presence shows that the rule applied.
 */
export const RULE_HIT_FIELD = { name: "Referrer-Policy", value: "no-referrer" } as const;

/**
 * Redirect rule `i`: four forms in turn (an exact path, a placeholder, a
 * splat, a query condition), on the sections in turn; the odd ones forced,
 * so both the routes looked at before the files and those looked at after
 * a miss are there.
 */
function redirectRule(i: number): Readonly<Record<string, unknown>> {
  const section = RULE_SECTIONS[i % RULE_SECTIONS.length];
  const n = Math.floor(i / RULE_SECTIONS.length);
  const status = RULE_STATUSES[i % RULE_STATUSES.length];
  const forced = i % 2 === 1 ? { force: true } : {};
  const forms = [
    { path: `/${section}/old-${n}`, redirect: `/${section}/new-${n}` },
    { path: `/${section}/${n}/:slug`, redirect: `/${section}/posts/:slug` },
    { path: `/${section}-${n}/*`, redirect: `/${section}/:splat` },
    { path: `/${section}/item-${n}`, query: { id: ":id" }, redirect: `/${section}/items/:id` },
  ];
  return { ...forms[i % forms.length], status, ...forced };
}

/** Header rule `j`: long-lived caching for a section's assets, or a field for its pages. */
function headerRule(j: number): Readonly<Record<string, unknown>> {
  const section = RULE_SECTIONS[j % RULE_SECTIONS.length];
  const n = Math.floor(j / RULE_SECTIONS.length);
  return j % 2 === 0
    ? {
      path: `/${section}/assets-${n}/*`,
      headers: { set: { "Cache-Control": "public, max-age=31536000, immutable" } },
    }
    : { path: `/${section}/page-${n}`, headers: { set: { "X-Robots-Tag": "noindex" } } };
}

/**
 * A redirect the generated rules answer, to check that portico read them:
 * the first rule's path, its status and where it sends the client.
 */
export const RULE_PROBE = { path: "/blog/old-0", status: 301, location: "/blog/new-0" } as const;

/**
 * portico's configuration file with site rules for a rule scenario: the
 * redirects and header rules of {@linkcode RuleLoad}, every path of them
 * under one of a few site sections so none matches a corpus file, then, when
 * asked, a header rule `/*` setting {@linkcode RULE_HIT_FIELD}.
 *
 * @param load How many rules of each kind, and whether one matches every path.
 * @returns The file's content, JSON.
 *
 * @example
 * ```ts
 * const config = porticoRules({ redirects: 2, headerRules: 1, hitEveryPath: true });
 * JSON.parse(config).rules.length; // 4
 * ```
 */
export function porticoRules(load: RuleLoad): string {
  const hit = { path: "/*", headers: { set: { [RULE_HIT_FIELD.name]: RULE_HIT_FIELD.value } } };
  const rules = [
    ...Array.from({ length: load.redirects }, (_, i) => redirectRule(i)),
    ...Array.from({ length: load.headerRules }, (_, j) => headerRule(j)),
    ...(load.hitEveryPath ? [hit] : []),
  ];
  return `${JSON.stringify({ rules }, null, 2)}\n`;
}

/** nginx modules whose temp path is moved into the prefix, unless built without them. */
const TEMP_PATH_MODULES = ["proxy", "fastcgi", "uwsgi", "scgi"] as const;

/**
 * The types nginx compresses besides text/html (always compressed when gzip
 * is on): the compressible ones of its usual `mime.types` that a site serves.
 */
const NGINX_GZIP_TYPES = [
  "text/css",
  "application/javascript",
  "text/javascript",
  "application/json",
  "image/svg+xml",
] as const;

/**
 * nginx's compression directives for a build: gzip at its default level (1)
 * for responses to requests that accept it, with `Vary`, and precompressed
 * `.gz` sidecars when the build has gzip_static. A request without
 * `Accept-Encoding` is answered exactly as with gzip off.
 *
 * @param build `nginx -V` output.
 * @returns The directives, one per line; none when nginx is built without gzip.
 *
 * @example
 * ```ts
 * nginxGzip("--with-http_gzip_static_module").includes("gzip_static on;"); // true
 * nginxGzip("").includes("gzip_static on;"); // false
 * ```
 */
export function nginxGzip(build: string): string[] {
  if (build.includes("--without-http_gzip_module")) return [];
  return [
    "gzip on;",
    ...(build.includes("--with-http_gzip_static_module") ? ["gzip_static on;"] : []),
    `gzip_types ${NGINX_GZIP_TYPES.join(" ")};`,
    "gzip_vary on;",
  ];
}

/**
 * nginx's HTTPS directives for a certificate: TLS 1.2 and 1.3 only, as
 * portico offers; everything else (ciphers, session reuse) nginx's defaults.
 *
 * @param tls The certificate's files.
 * @returns The directives, one per line.
 *
 * @example
 * ```ts
 * nginxTls({ ca: "/t/ca.pem", cert: "/t/cert.pem", key: "/t/key.pem" })[2];
 * // "ssl_protocols TLSv1.2 TLSv1.3;"
 * ```
 */
export function nginxTls(tls: TlsFiles): string[] {
  return [
    `ssl_certificate "${tls.cert}";`,
    `ssl_certificate_key "${tls.key}";`,
    "ssl_protocols TLSv1.2 TLSv1.3;",
  ];
}

/**
 * nginx's configuration: a foreground master, a fixed number of workers,
 * every path (pid, logs, temp files) inside the prefix so it runs as any
 * user, no access log, `sendfile`, gzip ({@linkcode nginxGzip}), and the
 * corpus on the loopback port, over HTTPS ({@linkcode nginxTls}) when the
 * plan has a certificate.
 *
 * @param plan Port, workers, document root and prefix.
 * @param build `nginx -V` output: modules built without are left out (their directives are unknown).
 * @returns The configuration file's content.
 *
 * @example
 * ```ts
 * nginxConfig({ key: "nginx", port: 8000, workers: 2, corpus: "/c", prefix: "/p", checkout: "",
 *   config: null, tls: null }, "")
 *   .includes("worker_processes 2;"); // true
 * ```
 */
export function nginxConfig(plan: Plan, build: string): string {
  const temps = TEMP_PATH_MODULES.filter((m) => !build.includes(`--without-http_${m}_module`))
    .map((m) => `${m}_temp_path "${plan.prefix}/${m}";`);
  const ssl = plan.tls === null ? [] : nginxTls(plan.tls);
  return `# Written by portico's bench/bench.ts for one benchmark run.
daemon off;
worker_processes ${plan.workers};
worker_rlimit_nofile 65536;
pid "${plan.prefix}/nginx.pid";
error_log "${plan.prefix}/error.log" warn;
events { worker_connections 16384; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { text/html html; application/javascript js; }
  default_type application/octet-stream;
  ${nginxGzip(build).join("\n  ")}
  client_body_temp_path "${plan.prefix}/client_body";
  ${temps.join("\n  ")}
  server {
    listen ${HOST}:${plan.port}${plan.tls === null ? "" : " ssl"};
    root "${plan.corpus}";
    ${ssl.join("\n    ")}
  }
}
`;
}

/**
 * Each server's command line; nginx's configuration is written into the prefix.
 *
 * @param tools The executables (the caller checked that the server's is there).
 * @param plan Where it runs.
 * @returns The command line.
 */
export async function launchFor(tools: Tools, plan: Plan): Promise<Launch> {
  const { key, port, corpus, prefix } = plan;
  switch (key) {
    case "ours":
    case "base":
      return porticoLaunch(tools.deno, plan);
    case "deno": {
      const args = ["run", `--allow-net=${HOST}`, `--allow-read=${corpus}`];
      return {
        command: tools.deno,
        args: [...args, "deno_file_server.ts", corpus, `${port}`],
        cwd: `${REPO}bench`,
      };
    }
    case "python": {
      const args = ["-m", "http.server", `${port}`, "--bind", HOST, "--directory", corpus];
      return { command: tools.python ?? "python3", args, cwd: prefix };
    }
    case "nginx": {
      const nginx = tools.nginx ?? "nginx";
      const build = (await capture(nginx, ["-V"])).stderr;
      await Deno.writeTextFile(`${prefix}/nginx.conf`, nginxConfig(plan, build));
      const args = ["-c", `${prefix}/nginx.conf`, "-p", `${prefix}/`, "-e", `${prefix}/error.log`];
      return { command: nginx, args, cwd: prefix };
    }
    case "caddy": {
      // No `encode` directive: caddy answers every request uncompressed, as the identity
      // scenarios' peers do; no access log unless asked for.
      const args = ["file-server", "--root", corpus, "--listen", `${HOST}:${port}`];
      // Its autosaved configuration goes into the prefix, not the user's home.
      return {
        command: tools.caddy ?? "caddy",
        args,
        cwd: prefix,
        env: { XDG_CONFIG_HOME: prefix },
      };
    }
    case "bun":
      return {
        command: tools.bun ?? "bun",
        args: ["bun_file_server.js", corpus, `${port}`],
        cwd: `${REPO}bench`,
      };
    case "serve": {
      // No request log (nginx has none), no clipboard; it compresses only when asked to.
      const args = [tools.serve ?? "serve", "-L", "-n", "-l", `tcp://${HOST}:${port}`, corpus];
      return { command: tools.node ?? "node", args, cwd: prefix };
    }
    case "http-server": {
      // The root first: its option parser would take a root after `-s` as that flag's value.
      const args = [tools.httpServer ?? "http-server", corpus, "-p", `${port}`, "-a", HOST, "-s"];
      return { command: tools.node ?? "node", args, cwd: prefix };
    }
  }
}

/** How a process is placed: on which CPUs, with how many open files. */
export interface Placement {
  /** `taskset -c` CPU list, or null to run anywhere. */
  readonly cpus: string | null;
  /** `ulimit -n` set by a bash wrapper before exec, or null to inherit this process's limit. */
  readonly openFiles: number | null;
}

/**
 * A command line wrapped so the process runs on the given CPUs with the
 * given descriptor limit. Both wrappers exec the command, so its pid is the
 * one spawned and a multi-process server's children inherit both settings.
 * When the limit cannot be raised that far, the hard limit is used.
 *
 * @param command The executable.
 * @param args Its arguments.
 * @param placement CPUs and open files.
 * @param taskset The taskset executable, or null: then no pinning.
 * @returns The wrapped executable and arguments.
 *
 * @example
 * ```ts
 * placed("wrk", ["-t1"], { cpus: "1", openFiles: null }, "/usr/bin/taskset");
 * // { command: "/usr/bin/taskset", args: ["-c", "1", "wrk", "-t1"] }
 * ```
 */
export function placed(
  command: string,
  args: readonly string[],
  placement: Placement,
  taskset: string | null,
): { command: string; args: string[] } {
  let line = [command, ...args];
  if (placement.cpus !== null && taskset !== null) line = [taskset, "-c", placement.cpus, ...line];
  if (placement.openFiles !== null) {
    const n = placement.openFiles;
    const script = `ulimit -n ${n} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
    line = ["bash", "-c", script, "bash", ...line];
  }
  return { command: line[0], args: line.slice(1) };
}

/** The file every corpus has, fetched to tell that a server is ready. */
export const READY_PATH = "/12b";

/**
 * How a start tells that the server is ready: polls `port` until `path` is
 * answered 200, gives up after `limitMs` or as soon as `stopped` gives a reason.
 * {@linkcode waitUntilServing} for plain HTTP.
 */
export type Readiness = (
  port: number,
  path: string,
  limitMs: number,
  stopped: () => string | null,
) => Promise<void>;

/** A server that answered its first request. */
export interface Server {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Its process id (portico's Deno, nginx's master). */
  readonly pid: number;
  /** Milliseconds from spawn to the first 200. */
  readonly startMs: number;
  /** Its process. */
  readonly child: Deno.ChildProcess;
}

/** Keeps the last 2,000 characters of a stream, for the error of a failed start. */
async function keepTail(stream: ReadableStream<Uint8Array>, tail: { text: string }): Promise<void> {
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    tail.text = (tail.text + text).slice(-2_000);
  }
}

/**
 * Starts a server and waits until it answers a GET of {@linkcode READY_PATH}
 * with 200 (10 s at most). Children inherit this process's descriptor limit,
 * which Deno raises to the hard limit at start.
 *
 * @param launch Its command line.
 * @param port The port it listens on.
 * @param signal Aborting it sends the server SIGTERM (Ctrl-C of the whole run).
 * @param ready How to tell it answers: plain HTTP unless given another probe (HTTPS).
 * @returns The running server.
 * @throws {Error} With a one-line reason and its last output when it does not answer.
 */
export async function startServer(
  launch: Launch,
  port: number,
  signal?: AbortSignal,
  ready: Readiness = waitUntilServing,
): Promise<Server> {
  const spawned = performance.now();
  const child = new Deno.Command(launch.command, {
    args: launch.args,
    cwd: launch.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...launch.env },
    signal,
  }).spawn();
  const tail = { text: "" };
  keepTail(child.stdout, tail).catch(() => {});
  keepTail(child.stderr, tail).catch(() => {});
  let exit: string | null = null;
  child.status.then((status) => exit = `exited with ${status.signal ?? `code ${status.code}`}`);
  try {
    await ready(port, READY_PATH, 10_000, () => exit);
    return { port, pid: child.pid, startMs: performance.now() - spawned, child };
  } catch (error) {
    await stopServer({ port, pid: child.pid, startMs: 0, child });
    const output = tail.text.trim().split("\n").slice(-3).join(" | ");
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(output === "" ? reason : `${reason}; its output: ${output}`);
  }
}

/**
 * Stops a server: SIGTERM, then after 5 s SIGKILL; processes it started
 * (nginx's workers) are killed when they outlive it, if their pid has not
 * been given to another process meanwhile.
 *
 * @param server The server.
 */
export async function stopServer(server: Server): Promise<void> {
  const family = descendants(server.pid).map((pid) => [pid, identity(pid)] as const);
  const kill = (pid: number, signal: Deno.Signal) => {
    try {
      Deno.kill(pid, signal);
    } catch {
      // Gone already.
    }
  };
  kill(server.pid, "SIGTERM");
  const timer = setTimeout(() => kill(server.pid, "SIGKILL"), 5_000);
  await server.child.status;
  clearTimeout(timer);
  for (const [pid, was] of family) if (was !== null && identity(pid) === was) kill(pid, "SIGKILL");
}

/** A process's pid, name and start time (fields 1, 2 and 22 of its stat), or null when gone. */
function identity(pid: number): string | null {
  const stat = readOrNull(`/proc/${pid}/stat`);
  const end = stat?.lastIndexOf(")") ?? -1;
  return stat === null || end === -1
    ? null
    : `${stat.slice(0, end + 1)} ${stat.slice(end + 2).split(" ")[19]}`;
}

function readOrNull(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/**
 * Every process below `root`, from `/proc/PID/stat` (the parent is the
 * second field after the command name, which ends at the last ")").
 *
 * @param root A process id.
 * @returns The descendants' ids, children before grandchildren.
 */
export function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    const stat = /^[0-9]+$/.test(entry.name) ? readOrNull(`/proc/${entry.name}/stat`) : null;
    const ppid = Number(stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (Number.isInteger(ppid)) parents.set(Number(entry.name), ppid);
  }
  const found = [root];
  for (let i = 0; i < found.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === found[i]) found.push(pid);
  }
  return found.slice(1);
}

/**
 * Resident memory of a process and its descendants (nginx's master and
 * workers; a Deno process's workers are threads, already in its own).
 *
 * @param pid The root process.
 * @returns KiB.
 * @throws {Error} When the process has no memory to read (it has exited).
 */
export function treeRssKiB(pid: number): number {
  const rss = (id: number) =>
    Number(/^VmRSS:\s+([0-9]+) kB$/m.exec(readOrNull(`/proc/${id}/status`) ?? "")?.[1] ?? NaN);
  const own = rss(pid);
  if (Number.isNaN(own)) throw new Error(`no resident memory readable for process ${pid}`);
  return descendants(pid).map(rss).filter((kib) => !Number.isNaN(kib)).reduce((a, b) => a + b, own);
}

/**
 * Clock ticks per second of `/proc/PID/stat`'s times (`getconf CLK_TCK`).
 *
 * @returns The ticks; 100 (Linux's value) when getconf cannot tell.
 */
export async function clockTicksPerSecond(): Promise<number> {
  const { code, stdout } = await capture("getconf", ["CLK_TCK"]);
  const ticks = Number(stdout.trim());
  return code === 0 && Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
}

/**
 * CPU time (user plus system, fields 14 and 15 of `/proc/PID/stat`) a
 * process and its descendants have used so far: nginx's master and workers;
 * a Deno process's workers are threads, already in its own. Descendants that
 * have exited are not counted.
 *
 * @param pid The root process.
 * @param ticksPerSecond From {@linkcode clockTicksPerSecond}.
 * @returns Milliseconds, at the clock tick's resolution (10 ms at 100 ticks a second).
 * @throws {Error} When the process has no times to read (it has exited).
 */
export function treeCpuMs(pid: number, ticksPerSecond: number): number {
  const ticks = (id: number) => {
    const stat = readOrNull(`/proc/${id}/stat`);
    if (stat === null) return NaN;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  };
  const own = ticks(pid);
  if (Number.isNaN(own)) throw new Error(`no CPU times readable for process ${pid}`);
  const all = descendants(pid).map(ticks).filter((n) => !Number.isNaN(n))
    .reduce((a, b) => a + b, own);
  return all * 1000 / ticksPerSecond;
}

/**
 * Checks out `rev` of this repository into `dir` with `git worktree add --detach`.
 *
 * @param rev A revision git understands.
 * @param dir A path that does not exist yet.
 * @returns The commit's short hash.
 * @throws {Error} With git's last words when it fails.
 */
export async function addWorktree(rev: string, dir: string): Promise<string> {
  await git(REPO, ["worktree", "add", "--detach", dir, rev]);
  return (await git(dir, ["rev-parse", "--short", "HEAD"])).trim();
}

/**
 * Removes a worktree made by {@linkcode addWorktree}, its registration with it.
 *
 * @param dir The worktree.
 * @throws {Error} With git's last words when it fails.
 */
export async function removeWorktree(dir: string): Promise<void> {
  await git(REPO, ["worktree", "remove", "--force", dir]);
}

async function git(cwd: string, args: readonly string[]): Promise<string> {
  const result = await capture("git", ["-C", cwd, ...args]);
  if (result.code !== 0) {
    const words = result.stderr.trim().split("\n").at(-1) ?? "";
    throw new Error(`git ${args.slice(0, 2).join(" ")} failed: ${words}`);
  }
  return result.stdout;
}
