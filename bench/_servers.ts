/**
 * Starting the four servers: their command lines, nginx's generated
 * configuration, and a start that waits until the server answers.
 *
 * @module
 */

import { HOST, waitUntilServing } from "./_http.ts";
import { type Children, describeStatus, type Running } from "./_process.ts";
import type { ServerKey } from "./_scenarios.ts";

/** The executables the benchmark uses; null when missing. */
export interface Tools {
  /** bash, for the fd-limit wrapper. */
  readonly bash: string;
  /** The Deno running this program. */
  readonly deno: string;
  /** wrk, the load generator. */
  readonly wrk: string | null;
  /** nginx. */
  readonly nginx: string | null;
  /** python3, for `-m http.server`. */
  readonly python: string | null;
  /** `nginx -V` output (its configure arguments), or "" when nginx is missing. */
  readonly nginxBuild: string;
}

/** What starting a server needs. */
export interface ServerEnv {
  /** Where every process is registered. */
  readonly children: Children;
  /** The executables. */
  readonly tools: Tools;
  /** The run's temporary directory (configurations, logs). */
  readonly tmp: string;
  /** The document root. */
  readonly corpus: string;
}

/** A server that answered its first request. */
export interface RunningServer {
  /** Which server. */
  readonly key: ServerKey;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Its process. */
  readonly child: Running;
  /** Milliseconds from spawn to the first 200. */
  readonly startMs: number;
}

/** A file next to this module, as a path. */
function besideThisFile(relative: string): string {
  return decodeURIComponent(new URL(relative, import.meta.url).pathname);
}

/** portico's entry point. */
export const OURS_MAIN: string = besideThisFile("../main.ts");

/** The Deno.serve peer. */
export const DENO_PEER: string = besideThisFile("./deno_file_server.ts");

/** What each server is started with. */
export interface Launch {
  /** The executable. */
  readonly command: string;
  /** Its arguments. */
  readonly args: string[];
}

/** Where one server start reads and writes. */
export interface LaunchPlan {
  /** The port to listen on, on 127.0.0.1. */
  readonly port: number;
  /** Worker processes or threads. */
  readonly workers: number;
  /** The document root. */
  readonly corpus: string;
  /** nginx's prefix directory (configuration, pid, temp paths), unique per start. */
  readonly prefix: string;
}

/**
 * portico's command line: the permissions of `deno task serve`.
 *
 * @example
 * ```ts
 * oursLaunch("deno", { port: 8000, workers: 2, corpus: "/c", prefix: "/p" }).args.at(-1); // "2"
 * ```
 */
export function oursLaunch(deno: string, plan: LaunchPlan): Launch {
  const args = [
    "run",
    "--unstable-net",
    "--unstable-worker-options",
    "--allow-net",
    "--allow-read",
    "--allow-env=PORT",
    "--allow-sys=networkInterfaces",
    OURS_MAIN,
    "--root",
    plan.corpus,
    "--host",
    HOST,
    "--port",
    String(plan.port),
    "--quiet",
  ];
  if (plan.workers > 1) args.push("--workers", String(plan.workers));
  return { command: deno, args };
}

/**
 * The Deno.serve peer's command line, with only the permissions it needs.
 *
 * @example
 * ```ts
 * denoPeerLaunch("deno", { port: 8000, workers: 1, corpus: "/c", prefix: "/p" }).args[1];
 * // "--allow-net=127.0.0.1"
 * ```
 */
export function denoPeerLaunch(deno: string, plan: LaunchPlan): Launch {
  return {
    command: deno,
    args: [
      "run",
      `--allow-net=${HOST}`,
      `--allow-read=${plan.corpus}`,
      DENO_PEER,
      "--root",
      plan.corpus,
      "--port",
      String(plan.port),
    ],
  };
}

/**
 * `python3 -m http.server` on the loopback address.
 *
 * @example
 * ```ts
 * pythonLaunch("python3", { port: 8000, workers: 1, corpus: "/c", prefix: "/p" }).args;
 * // ["-m", "http.server", "8000", "--bind", "127.0.0.1", "--directory", "/c"]
 * ```
 */
export function pythonLaunch(python: string, plan: LaunchPlan): Launch {
  return {
    command: python,
    args: ["-m", "http.server", String(plan.port), "--bind", HOST, "--directory", plan.corpus],
  };
}

/**
 * nginx in the foreground with a generated configuration under the prefix;
 * `-e` keeps even the start-up error log out of /var/log.
 *
 * @example
 * ```ts
 * nginxLaunch("nginx", { port: 8000, workers: 1, corpus: "/c", prefix: "/p" }).args;
 * // ["-c", "/p/nginx.conf", "-p", "/p/", "-e", "/p/error.log"]
 * ```
 */
export function nginxLaunch(nginx: string, plan: LaunchPlan): Launch {
  return {
    command: nginx,
    args: ["-c", `${plan.prefix}/nginx.conf`, "-p", `${plan.prefix}/`, "-e", nginxErrorLog(plan)],
  };
}

function nginxErrorLog(plan: LaunchPlan): string {
  return `${plan.prefix}/error.log`;
}

/** nginx modules with a temp path directive, and the directive's name. */
const TEMP_PATHS = [
  ["http_proxy_module", "proxy_temp_path"],
  ["http_fastcgi_module", "fastcgi_temp_path"],
  ["http_uwsgi_module", "uwsgi_temp_path"],
  ["http_scgi_module", "scgi_temp_path"],
] as const;

/** Quotes a value for nginx's configuration language. */
function nginxString(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/**
 * nginx's configuration: one foreground master, a fixed number of workers,
 * every path (pid, logs, temp files) inside the prefix so it runs as any
 * user, and a server for the corpus on the loopback port.
 *
 * @param plan Port, workers, document root and prefix.
 * @param build `nginx -V` output: temp paths of modules built without are left out
 *   (their directives would be unknown).
 * @returns The configuration file's content.
 *
 * @example
 * ```ts
 * nginxConfig({ port: 8000, workers: 2, corpus: "/c", prefix: "/p" }, "")
 *   .includes("worker_processes 2;"); // true
 * ```
 */
export function nginxConfig(plan: LaunchPlan, build: string): string {
  const at = (name: string) => nginxString(`${plan.prefix}/${name}`);
  const temps = TEMP_PATHS
    .filter(([module]) => !build.includes(`--without-${module}`))
    .map(([, directive]) => `  ${directive} ${at(directive.replace("_path", ""))};`);
  return [
    "# Written by portico's bench/bench.ts for one benchmark run.",
    "daemon off;",
    "master_process on;",
    `worker_processes ${plan.workers};`,
    "worker_rlimit_nofile 65536;",
    `pid ${at("nginx.pid")};`,
    `error_log ${nginxString(nginxErrorLog(plan))} warn;`,
    "",
    "events {",
    "  worker_connections 8192;",
    "}",
    "",
    "http {",
    "  access_log off;",
    "  sendfile on;",
    "  tcp_nopush on;",
    "  keepalive_requests 1000000;",
    "  keepalive_timeout 65;",
    "  default_type application/octet-stream;",
    "  types {",
    "    text/html html;",
    "    application/octet-stream bin;",
    "  }",
    `  client_body_temp_path ${at("client_body_temp")};`,
    ...temps,
    "",
    "  server {",
    `    listen ${HOST}:${plan.port};`,
    `    root ${nginxString(plan.corpus)};`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Whether the server can run at all on this machine, and if not, why. */
export function missingTool(key: ServerKey, tools: Tools): string | null {
  if (key === "nginx" && tools.nginx === null) return "nginx not found";
  if (key === "python" && tools.python === null) return "python3 not found";
  return null;
}

function launchFor(key: ServerKey, tools: Tools, plan: LaunchPlan): Launch {
  switch (key) {
    case "ours":
      return oursLaunch(tools.deno, plan);
    case "deno":
      return denoPeerLaunch(tools.deno, plan);
    case "python":
      return pythonLaunch(tools.python ?? "python3", plan);
    case "nginx":
      return nginxLaunch(tools.nginx ?? "nginx", plan);
  }
}

/** The file a server was started into for readiness; it exists in every corpus. */
export const READY_PATH = "/12b";

/** How long a server gets to answer its first request. */
const START_LIMIT_MS = 10_000;

/** The last lines of a log file, on one line, for an error message. */
async function logTail(path: string | null): Promise<string> {
  if (path === null) return "";
  try {
    const lines = (await Deno.readTextFile(path)).trim().split("\n").filter((l) => l !== "");
    return lines.slice(-3).join(" | ").slice(0, 400);
  } catch {
    return "";
  }
}

/**
 * Starts a server on a given port and waits (polling, bounded) until it
 * answers a GET of `/12b` with 200. On failure the process is stopped and
 * the error carries its last log lines.
 *
 * @param env Children, tools and directories.
 * @param key Which server.
 * @param port The port (see `freePort()`).
 * @param workers Worker processes or threads.
 * @param pollMs Pause between readiness attempts.
 * @returns The running server.
 * @throws {Error} With a one-line reason when it does not answer.
 */
export async function startServer(
  env: ServerEnv,
  key: ServerKey,
  port: number,
  workers: number,
  pollMs = 20,
): Promise<RunningServer> {
  // Unique per start: a port can come round again in a long run.
  const prefix = await Deno.makeTempDir({ dir: env.tmp, prefix: `${key}-${port}-` });
  // nginx's workers drop root privileges; they must be able to reach it.
  await Deno.chmod(prefix, 0o755);
  const plan: LaunchPlan = { port, workers, corpus: env.corpus, prefix };
  if (key === "nginx") {
    await Deno.writeTextFile(`${prefix}/nginx.conf`, nginxConfig(plan, env.tools.nginxBuild));
  }
  const launch = launchFor(key, env.tools, plan);
  const spawned = performance.now();
  const child = env.children.spawn(key, launch.command, launch.args, {
    output: "log",
    log: `${prefix}/output.log`,
  });
  let exit: string | null = null;
  child.status.then((status) => {
    exit = describeStatus(status);
  });
  try {
    await waitUntilServing(port, READY_PATH, {
      totalMs: START_LIMIT_MS,
      intervalMs: pollMs,
      stopped: () => exit === null ? null : `process ${exit}`,
    });
    return { key, port, child, startMs: performance.now() - spawned };
  } catch (error) {
    await env.children.stop(child);
    const reason = error instanceof Error ? error.message : String(error);
    const tail = (await logTail(child.log)) ||
      (key === "nginx" ? await logTail(nginxErrorLog(plan)) : "");
    throw new Error(tail === "" ? reason : `${reason}; its output: ${tail}`);
  }
}
