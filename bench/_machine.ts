/**
 * The machine and its tools: finding executables on PATH (and the sbin
 * directories), installing wrk and nginx with apt-get, and describing the
 * hardware and versions for the report's header.
 *
 * @module
 */

import type { Tools } from "./_servers.ts";

/** Directories searched after PATH: nginx lives in sbin, often not on a user's PATH. */
const SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"] as const;

/**
 * The directories to search for an executable, in order, without repeats.
 *
 * @param path The PATH variable, or undefined.
 * @returns Directories.
 *
 * @example
 * ```ts
 * searchDirs("/usr/bin:/usr/sbin"); // ["/usr/bin", "/usr/sbin", "/usr/local/sbin", "/sbin"]
 * ```
 */
export function searchDirs(path: string | undefined): string[] {
  const dirs = (path ?? "").split(":").filter((dir) => dir !== "");
  return [...new Set([...dirs, ...SBIN_DIRS])];
}

/**
 * Finds an executable file by name on PATH and in the sbin directories.
 *
 * @param name The executable's name.
 * @returns Its path, or null.
 */
export function which(name: string): string | null {
  for (const dir of searchDirs(Deno.env.get("PATH"))) {
    const candidate = `${dir}/${name}`;
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

/** Runs a command to completion, bounded in time, and returns its output (never throws). */
async function capture(
  command: string,
  args: readonly string[],
  timeoutMs: number,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const output = await new Deno.Command(command, {
      args: [...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
  } catch (error) {
    return { code: -1, stdout: "", stderr: error instanceof Error ? error.message : String(error) };
  }
}

/** apt-get may download; it gets this long. */
const APT_LIMIT_MS = 300_000;

/**
 * Installs wrk and nginx-light with apt-get, announcing it first.
 *
 * @returns Null on success, else the reason it failed (one line).
 */
export async function aptInstall(): Promise<string | null> {
  const apt = which("apt-get");
  if (apt === null) return "apt-get not found";
  console.log("bench: wrk or nginx missing; running apt-get install -y wrk nginx-light");
  const result = await capture(apt, ["install", "-y", "wrk", "nginx-light"], APT_LIMIT_MS, {
    DEBIAN_FRONTEND: "noninteractive",
  });
  if (result.code === 0) return null;
  const last = result.stderr.trim().split("\n").at(-1) ?? "";
  return `apt-get install failed (exit ${result.code})${last === "" ? "" : `: ${last}`}`;
}

/**
 * Looks up every tool the benchmark may use.
 *
 * @param bash bash's path (checked by the caller).
 * @returns The tools; missing ones are null.
 */
export async function findTools(bash: string): Promise<Tools> {
  const nginx = which("nginx");
  const build = nginx === null ? "" : (await capture(nginx, ["-V"], 10_000)).stderr;
  return {
    bash,
    deno: Deno.execPath(),
    wrk: which("wrk"),
    nginx,
    python: which("python3"),
    nginxBuild: build,
  };
}

/** The report header's description of the machine. */
export interface MachineInfo {
  /** CPU model name. */
  readonly cpu: string;
  /** Logical CPUs. */
  readonly cores: number;
  /** Total memory, GiB. */
  readonly memoryGiB: number;
  /** Operating system, kernel release and architecture. */
  readonly kernel: string;
  /** Deno version. */
  readonly deno: string;
  /** nginx version, or "not found". */
  readonly nginx: string;
  /** wrk version, or "not found". */
  readonly wrk: string;
  /** Python version, or "not found". */
  readonly python: string;
}

/**
 * The CPU model from `/proc/cpuinfo`.
 *
 * @example
 * ```ts
 * cpuModel("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n"); // "AMD EPYC 7B13"
 * ```
 */
export function cpuModel(cpuinfo: string): string {
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? "unknown CPU";
}

/**
 * Total memory from `/proc/meminfo`, in GiB.
 *
 * @example
 * ```ts
 * memTotalGiB("MemTotal:       2097152 kB\n"); // 2
 * ```
 */
export function memTotalGiB(meminfo: string): number {
  const kib = Number(/^MemTotal:\s+([0-9]+) kB$/m.exec(meminfo)?.[1] ?? 0);
  return kib / (1024 * 1024);
}

/**
 * A tool's version from its output, or "unknown".
 *
 * @example
 * ```ts
 * versionIn("nginx version: nginx/1.22.1", /nginx\/(\S+)/); // "1.22.1"
 * ```
 */
export function versionIn(text: string, pattern: RegExp): string {
  return pattern.exec(text)?.[1] ?? "unknown";
}

function readOr(path: string, fallback: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return fallback;
  }
}

/**
 * Describes the machine and tool versions.
 *
 * @param tools The tools found.
 * @returns The description.
 */
export async function describeMachine(tools: Tools): Promise<MachineInfo> {
  const wrk = tools.wrk === null ? null : await capture(tools.wrk, ["-v"], 10_000);
  const python = tools.python === null ? null : await capture(tools.python, ["--version"], 10_000);
  return {
    cpu: cpuModel(readOr("/proc/cpuinfo", "")),
    cores: navigator.hardwareConcurrency,
    memoryGiB: memTotalGiB(readOr("/proc/meminfo", "")),
    kernel: `${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch})`,
    deno: Deno.version.deno,
    nginx: tools.nginx === null ? "not found" : versionIn(tools.nginxBuild, /nginx\/(\S+)/),
    wrk: wrk === null ? "not found" : versionIn(wrk.stdout + wrk.stderr, /^wrk (\S+)/m),
    python: python === null
      ? "not found"
      : versionIn(python.stdout + python.stderr, /Python (\S+)/),
  };
}
