/**
 * The `compile` task builds one executable that serves the bundled site.
 * `deno compile` downloads its runtime (denort) unless DENORT_BIN names a
 * local copy. Where the runtime cannot be had, the task is compiled again
 * onto a stand-in executable (`/bin/true`, through DENORT_BIN): that binary
 * cannot serve anything, but it carries the same payload, so what the task
 * bakes in (permissions, prompt, unstable features, npm packages, embedded
 * files) is still checked. A test that needs a binary that runs is then
 * reported as ignored with the reason, never as passed.
 */

import { assert, assertEquals, join } from "../_deps.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { LISTENING_URL, REPO, spawnProgram } from "./_process.ts";

const WWW = join(REPO, "www");
const STAND_IN_RUNTIME = "/bin/true";
const outDir = await Deno.makeTempDir({ prefix: "portico_compile_" });
const binary = join(outDir, Deno.build.os === "windows" ? "portico.exe" : "portico");

/** The compile task's own flags, with the output redirected to a temporary file. */
function compileArgs(): string[] {
  const words = denoJson.tasks.compile.split(/\s+/);
  assertEquals(words.slice(0, 2), ["deno", "compile"]);
  const out = words.indexOf("--output");
  assert(out !== -1, "the compile task names its output");
  words[out + 1] = binary;
  return words.slice(1);
}

/** Runs the compile task's command; `denortBin` overrides the runtime it embeds. */
async function compile(denortBin?: string): Promise<{ success: boolean; log: string }> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  if (denortBin !== undefined) env.DENORT_BIN = denortBin;
  const output = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(),
    cwd: REPO,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(240_000),
  }).output();
  return { success: output.success, log: new TextDecoder().decode(output.stderr) };
}

/** Whether the compiled binary prints its version as Portico does (denort, not a stand-in). */
async function runsAsPortico(): Promise<boolean> {
  const output = await new Deno.Command(binary, {
    args: ["--version"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(30_000),
  }).output();
  return new TextDecoder().decode(output.stdout).startsWith(`portico ${denoJson.version}`);
}

let compiled = await compile();
/** Why the binary that was built cannot be run ("" when it can). */
let notRunnable = "";
/** Why there is no binary to read the payload of ("" when there is, or compiling failed). */
let noPayload = "";
if (
  !compiled.success && /denort|Setting up base binary/.test(compiled.log) &&
  /error sending request|dns error|Connect|timed out|download/i.test(compiled.log)
) {
  notRunnable = "deno compile could not download its runtime (denort) on this machine; " +
    "set DENORT_BIN to a local denort to run the compiled binary";
  const standIn = Deno.build.os !== "windows" &&
    await Deno.stat(STAND_IN_RUNTIME).then((info) => info.isFile, () => false);
  if (standIn) compiled = await compile(STAND_IN_RUNTIME);
  else noPayload = `there is no stand-in runtime (${STAND_IN_RUNTIME}) to compile onto either`;
} else if (compiled.success && !(await runsAsPortico())) {
  notRunnable = `the binary was compiled onto a runtime that is not denort (DENORT_BIN=${
    Deno.env.get("DENORT_BIN")
  })`;
}
const built = compiled.success ? await Deno.readFile(binary) : null;
if (notRunnable !== "") {
  console.warn(`compile_test: the binary is not run: ${notRunnable}`);
  await Deno.remove(outDir, { recursive: true });
}

Deno.test({
  name: `compile task builds a binary that serves the bundled site${
    notRunnable ? ` (ignored: ${notRunnable})` : ""
  }`,
  ignore: notRunnable !== "",
  async fn() {
    try {
      assert(compiled.success, `deno compile failed:\n${compiled.log}`);
      // Run it where there is no www/: it must fall back to the site inside it.
      const cwd = await Deno.makeTempDir();
      const program = spawnProgram(binary, ["--host", "127.0.0.1", "--port", "0"], cwd);
      let failed = true;
      try {
        const url = (await program.waitFor(LISTENING_URL))[0];
        const response = await fetch(url);
        assertEquals(await response.text(), await Deno.readTextFile(join(WWW, "index.html")));
        failed = false;
      } finally {
        const { status, stderr } = await program.stop();
        if (!failed) assertEquals(status.code, 0, stderr);
        await Deno.remove(cwd, { recursive: true });
      }
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  },
});

/** `--allow-NAME[=a,b]` flags as the permission table `deno compile` writes. */
function permissionsOf(words: readonly string[]): Record<string, string[]> {
  const permissions: Record<string, string[]> = {};
  for (const word of words) {
    const match = /^--(allow-[a-z]+)(?:=(.*))?$/.exec(word);
    if (match) permissions[match[1].replace("-", "_")] = match[2]?.split(",") ?? [];
  }
  return permissions;
}

/**
 * The npm packages (`name@version`) lib/ imports by full specifier, and
 * what they depend on, as deno.lock records it.
 */
async function libPackages(): Promise<Set<string>> {
  const deps = await Deno.readTextFile(join(REPO, "lib", "deps.ts"));
  const direct = [...deps.matchAll(/"npm:((?:@[^/"]+\/)?[^/@"]+@[^/"]+)/g)].map((m) => m[1]);
  const lock = JSON.parse(await Deno.readTextFile(join(REPO, "deno.lock")));
  const npm: Record<string, { dependencies?: string[] }> = lock.npm ?? {};
  // A dependency is written `name` when one version is locked, else `name@version`.
  const resolve = (dependency: string) =>
    dependency in npm
      ? dependency
      : Object.keys(npm).find((key) => key.slice(0, key.lastIndexOf("@")) === dependency);
  const all = new Set<string>();
  const visit = (name: string | undefined) => {
    if (name === undefined || all.has(name)) return;
    all.add(name);
    for (const dependency of npm[name]?.dependencies ?? []) visit(resolve(dependency));
  };
  for (const name of direct) visit(resolve(name) ?? name);
  return all;
}

/** Every file under `dir`, as paths relative to the repository with `/` separators. */
async function filesUnder(dir: string, prefix: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${prefix}/${entry.name}`;
    if (entry.isDirectory) files.push(...await filesUnder(join(dir, entry.name), path));
    else files.push(path);
  }
  return files;
}

Deno.test({
  name: `compile task bakes in no prompt, the unstable features and the serve permissions, ` +
    `and embeds the site and the worker but no test library${
      noPayload ? ` (ignored: ${noPayload})` : ""
    }`,
  ignore: noPayload !== "",
  async fn() {
    assert(built !== null, `deno compile failed:\n${compiled.log}`);
    const { metadata, npmPackages, files } = readPayload(built);
    // A server must never wait on a terminal for a permission.
    assertEquals(metadata.permissions.prompt, false);
    for (const feature of denoJson.unstable) {
      assert(metadata.unstable_config.features.includes(feature), `unstable ${feature} baked in`);
    }
    const serve = permissionsOf(denoJson.tasks.serve.split(/\s+/));
    assert(Object.keys(serve).length > 0);
    for (const [name, value] of Object.entries(metadata.permissions)) {
      if (!name.startsWith("allow_") || name === "allow_import") continue;
      assertEquals(value, serve[name] ?? null, `${name} as the serve task has it`);
    }
    // Test-only libraries (fast-check, its pure-rand) stay out; the standard
    // library is in because lib/deps.ts imports it (its assert/ folder comes
    // with the package, but nothing loads it).
    const allowed = await libPackages();
    for (const name of npmPackages) assert(allowed.has(name), `npm package ${name} embedded`);
    assert(!npmPackages.some((name) => /^(fast-check|pure-rand)@/.test(name)), `${npmPackages}`);
    const embedded = new Set(files);
    for (const file of ["main.ts", "lib/worker.ts", ...await filesUnder(WWW, "www")]) {
      assert(embedded.has(file), `${file} embedded`);
    }
    for (const file of files) {
      assert(!/^(tests|bench)\//.test(file), `${file} embedded`);
    }
  },
});

Deno.test("compile task has the serve task's permissions, --no-prompt, and carries the worker module", () => {
  const compile = denoJson.tasks.compile.split(/\s+/);
  const serve = denoJson.tasks.serve.split(/\s+/);
  for (const flag of serve.filter((word) => word.startsWith("--allow-"))) {
    assert(compile.includes(flag), `compile lacks ${flag}`);
  }
  // deno compile bakes in the unstable features deno.json declares (checked in the payload above).
  for (const flag of serve.filter((word) => word.startsWith("--unstable-"))) {
    assert(denoJson.unstable.includes(flag.slice("--unstable-".length)), `deno.json lacks ${flag}`);
  }
  assert(compile.includes("--no-prompt"), "compile lacks --no-prompt");
  assert(compile.includes("--exclude-unused-npm"), "compile embeds npm packages it does not use");
  const included = compile.flatMap((word, i) => word === "--include" ? [compile[i + 1]] : []);
  assertEquals(included.sort(), ["lib/worker.ts", "www"]);
});

// --- Reading what `deno compile` embedded ------------------------------------

/** What `deno compile` (Deno 2.9) baked into a binary. */
interface Payload {
  /** The metadata JSON: permissions, unstable features, entry point and more. */
  metadata: {
    permissions: Record<string, unknown> & { prompt: boolean };
    unstable_config: { features: string[] };
  };
  /** The npm packages embedded, `name@version`. */
  npmPackages: string[];
  /** The paths in the embedded file system, npm packages left out. */
  files: string[];
}

type VfsEntry =
  | { Dir: { n: string; e: VfsEntry[] } }
  | { File: { n: string } }
  | { Symlink: { n: string } };

const MAGIC = new TextEncoder().encode("d3n0l4nd");

/**
 * Reads the payload `deno compile` appends to its runtime (Deno's
 * `cli/standalone/binary.rs`): magic, metadata JSON, npm snapshot,
 * specifiers, redirects, remote modules, the virtual file system's JSON and
 * its bytes, magic. Found by its magic followed by a length and a JSON object,
 * so the container around it (an ELF note on Linux) does not matter.
 */
function readPayload(bytes: Uint8Array): Payload {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = -1;
  for (let i = bytes.indexOf(MAGIC[0]); i !== -1; i = bytes.indexOf(MAGIC[0], i + 1)) {
    if (
      MAGIC.every((b, j) => bytes[i + j] === b) && i + 17 <= bytes.length &&
      bytes[i + 16] === 0x7b && view.getBigUint64(i + 8, true) < BigInt(bytes.length)
    ) {
      start = i + MAGIC.length;
      break;
    }
  }
  assert(start !== -1, "no deno compile payload in the binary");
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  const reader = (buf: Uint8Array, at: number) => {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = at;
    const take = (n: number) => buf.subarray(pos, pos += n);
    const u32 = () => (pos += 4, dv.getUint32(pos - 4, true));
    const u64 = () => (pos += 8, Number(dv.getBigUint64(pos - 8, true)));
    return { take, u32, u64, u8: () => buf[pos++], skip32: () => void take(u32()) };
  };
  const r = reader(bytes, start);
  const metadata = JSON.parse(decode(r.take(r.u64())));
  const snapshot = r.take(r.u64());
  const npmPackages: string[] = [];
  if (snapshot.length > 0) {
    const s = reader(snapshot, 0);
    for (let n = s.u32(); n > 0; n--) npmPackages.push(decode(s.take(s.u32())));
  }
  for (let n = r.u32(); n > 0; n--) (r.skip32(), r.u32()); // specifiers
  for (let n = r.u32(); n > 0; n--) (r.u32(), r.u32()); // redirects
  for (let n = r.u32(); n > 0; n--) { // remote modules
    r.u32();
    r.u8();
    r.skip32();
    const flags = r.u8();
    for (const bit of [1, 2, 4]) if (flags & bit) r.skip32();
  }
  const vfs: VfsEntry[] = JSON.parse(decode(r.take(r.u64())));
  r.take(r.u64());
  assertEquals(r.take(MAGIC.length), MAGIC, "payload ends with its magic");
  const files: string[] = [];
  const walk = (entries: VfsEntry[], prefix: string) => {
    for (const entry of entries) {
      if ("Dir" in entry) {
        if (entry.Dir.n !== ".deno_compile_node_modules") {
          walk(entry.Dir.e, `${prefix}${entry.Dir.n}/`);
        }
      } else if ("File" in entry) files.push(`${prefix}${entry.File.n}`);
    }
  };
  walk(vfs, "");
  return { metadata, npmPackages, files };
}
