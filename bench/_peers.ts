/**
 * The peers that are installed for the run when missing: caddy with
 * apt-get, and Bun, serve and http-server from npm into one directory under
 * /tmp kept between runs. Each install is bounded in time and happens at
 * most once per run; a peer that cannot be had is skipped with its reason.
 *
 * @module
 */

import type { ServerKey } from "./_scenarios.ts";
import { capture, type Tools } from "./_servers.ts";

/** Where the npm peers are installed, kept between runs so the next one installs nothing. */
export const NPM_PREFIX = "/tmp/portico-bench-peers";

/** The npm packages, at the versions measured. */
const NPM_VERSIONS = {
  bun: "1.4.5",
  serve: "14.2.8",
  "http-server": "14.1.1",
} as const;

/** Longest an apt-get or npm install may take. */
const INSTALL_TIMEOUT_MS = 180_000;

/** A peer that cannot run here, and why, in one line. */
export interface Skipped {
  readonly server: ServerKey;
  readonly reason: string;
}

/** Bun's npm package for this machine (the baseline build where the CPU lacks AVX2), or null. */
async function bunPackage(): Promise<string | null> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") return null;
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  return / avx2( |$)/m.test(cpuinfo) ? "@oven/bun-linux-x64" : "@oven/bun-linux-x64-baseline";
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

/**
 * Finds or installs each selected peer that needs it.
 *
 * @param tools The tools found on PATH.
 * @param servers The selected servers.
 * @param install Whether missing peers may be installed (not with `--smoke`).
 * @param progress Prints a progress line.
 * @returns The tools with the peers' paths filled in, and the peers that cannot run.
 */
export async function preparePeers(
  tools: Tools,
  servers: readonly ServerKey[],
  install: boolean,
  progress: (line: string) => void,
): Promise<{ tools: Tools; skipped: Skipped[] }> {
  const skipped: Skipped[] = [];
  let caddy = tools.caddy;
  if (servers.includes("caddy") && caddy === null) {
    if (install) {
      progress("caddy missing; running apt-get install -y caddy");
      const apt = await capture("apt-get", ["install", "-y", "caddy"], {
        env: { DEBIAN_FRONTEND: "noninteractive" },
        signal: AbortSignal.timeout(INSTALL_TIMEOUT_MS),
      });
      caddy = (await capture("bash", ["-c", "command -v caddy"])).stdout.trim() || null;
      if (caddy === null) {
        skipped.push({
          server: "caddy",
          reason: `caddy not found: apt-get install failed: ${lastLine(apt.stderr)}`,
        });
      }
    } else {skipped.push({
        server: "caddy",
        reason: "caddy not found, and --smoke installs nothing",
      });}
  }

  const bunPkg = await bunPackage();
  const wanted = new Map<ServerKey, string>();
  if (servers.includes("bun")) {
    if (bunPkg === null) {
      skipped.push({ server: "bun", reason: "no Bun npm package for this platform" });
    } else wanted.set("bun", `${bunPkg}@${NPM_VERSIONS.bun}`);
  }
  for (const key of ["serve", "http-server"] as const) {
    if (!servers.includes(key)) continue;
    if (tools.node === null) skipped.push({ server: key, reason: "node not found" });
    else wanted.set(key, `${key}@${NPM_VERSIONS[key]}`);
  }
  const paths: Record<string, string> = {
    bun: `${NPM_PREFIX}/node_modules/${bunPkg}/bin/bun`,
    serve: `${NPM_PREFIX}/node_modules/serve/build/main.js`,
    "http-server": `${NPM_PREFIX}/node_modules/http-server/bin/http-server`,
  };
  // The versions installed are recorded in each package.json; a different one is reinstalled.
  const installed = async (key: ServerKey) => {
    const pkg = key === "bun" ? bunPkg : key;
    const json = await Deno.readTextFile(`${NPM_PREFIX}/node_modules/${pkg}/package.json`)
      .catch(() => "{}");
    return JSON.parse(json).version === NPM_VERSIONS[key as keyof typeof NPM_VERSIONS] &&
      await exists(paths[key]);
  };
  const missing: ServerKey[] = [];
  for (const key of wanted.keys()) if (!await installed(key)) missing.push(key);
  if (missing.length > 0 && !install) {
    for (const key of missing) {
      skipped.push({
        server: key,
        reason: `not installed in ${NPM_PREFIX}, and --smoke installs nothing`,
      });
      wanted.delete(key);
    }
  } else if (missing.length > 0) {
    const specs = missing.map((key) => wanted.get(key) ?? "");
    progress(`installing ${specs.join(" ")} into ${NPM_PREFIX} with npm`);
    await Deno.mkdir(NPM_PREFIX, { recursive: true });
    const npm = await capture(
      "npm",
      ["install", "--prefix", NPM_PREFIX, "--no-audit", "--no-fund", "--no-save", ...specs],
      { cwd: NPM_PREFIX, signal: AbortSignal.timeout(INSTALL_TIMEOUT_MS) },
    );
    for (const key of missing) {
      if (await installed(key)) continue;
      const why = npm.code === 0
        ? "missing after npm install"
        : `npm install failed: ${lastLine(npm.stderr)}`;
      skipped.push({ server: key, reason: why });
      wanted.delete(key);
    }
  }
  const path = (key: ServerKey) => wanted.has(key) ? paths[key] : null;
  return {
    tools: {
      ...tools,
      caddy,
      bun: path("bun"),
      serve: path("serve"),
      httpServer: path("http-server"),
    },
    skipped,
  };
}
