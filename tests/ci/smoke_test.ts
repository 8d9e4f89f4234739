/**
 * The release path, proven here although the release workflow cannot run
 * here: `.ci/smoke.ts` (the workflow's smoke test of every binary) run
 * against `deno run main.ts` as the serve task starts it, passing on the
 * right site and failing in one line on another; the workflow's compile
 * flags are the compile task's, word for word; the Dockerfile packs the
 * compile task's output for a non-root user, as docs/deployment.md shows.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes, join } from "../_deps.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { OPTIONS } from "../../lib/options.ts";
import {
  DEADLINES_MS,
  DEFAULT_EXPECT,
  parseSmokeArgs,
  SMOKE_EXIT,
  SMOKE_PERMISSIONS,
  SmokeError,
} from "../../.ci/smoke.ts";
import { MAIN, serveTaskArgs } from "../main/_main.ts";
import { REPO, spawnDeno, type Stopped } from "../main/_process.ts";

const SMOKE = join(REPO, ".ci", "smoke.ts");

/** Longer than every deadline of the script together, so the script always ends first. */
const SMOKE_RUN_MS = Object.values(DEADLINES_MS).reduce((sum, ms) => sum + ms, 0) + 30_000;

/** The command the tests smoke-test: main.ts with the serve task's Deno flags. */
function serveCommand(...args: string[]): string[] {
  return [Deno.execPath(), ...serveTaskArgs(), MAIN, ...args];
}

/** Runs `.ci/smoke.ts` with `args` in the repository, as the workflow runs it. */
async function runSmoke(args: readonly string[]): Promise<Stopped> {
  const program = spawnDeno(["run", ...SMOKE_PERMISSIONS, SMOKE, ...args]);
  try {
    return await program.exited(SMOKE_RUN_MS);
  } finally {
    await program.stop("SIGKILL");
  }
}

/** Asserts that the script failed with exit code 1 and exactly one line, which includes `text`. */
function assertOneLineFailure(result: Stopped, ...texts: string[]): void {
  assertEquals(result.status.code, SMOKE_EXIT.failed, result.stderr);
  assertEquals(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assert(lines[0].startsWith("smoke: "), lines[0]);
  for (const text of texts) assertStringIncludes(lines[0], text);
}

/** A document root whose index.html is not the repository's, for `fn`; removed after. */
async function withOtherRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "portico_smoke_" });
  try {
    await Deno.writeTextFile(join(root, "index.html"), "<!doctype html>\n<p>Another site</p>\n");
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("smoke.ts passes main.ts run with the serve task's flags", async () => {
  const result = await runSmoke(["--", ...serveCommand()]);
  assertEquals(result.status.code, SMOKE_EXIT.passed, result.stderr);
  assertMatch(
    result.stdout,
    /^smoke: http:\/\/127\.0\.0\.1:\d+\/ answered www\/index\.html \(\d+ bytes\) and stopped\n$/,
  );
});

Deno.test("smoke.ts fails in one line when / answers other bytes than www/index.html", async () => {
  await withOtherRoot(async (root) => {
    const result = await runSmoke(["--", ...serveCommand("--root", root)]);
    assertOneLineFailure(result, "differ from www/index.html", "from byte ");
  });
});

Deno.test("smoke.ts compares / with the file --expect names", async () => {
  await withOtherRoot(async (root) => {
    const expect = join(root, "index.html");
    const result = await runSmoke(["--expect", expect, "--", ...serveCommand("--root", root)]);
    assertEquals(result.status.code, SMOKE_EXIT.passed, result.stderr);
    assertStringIncludes(result.stdout, `answered ${expect} (`);
  });
});

Deno.test("smoke.ts fails in one line when the command exits before it listens", async () => {
  const missing = join(REPO, "no-such-root");
  const result = await runSmoke(["--", ...serveCommand("--root", missing)]);
  assertOneLineFailure(result, "exited with code 2 before printing", "does not exist");
});

Deno.test("smoke.ts fails in one line when the command cannot be started", async () => {
  const result = await runSmoke(["--", join(REPO, "no-such-program")]);
  assertOneLineFailure(result, "cannot start ");
});

Deno.test("parseSmokeArgs() reads --expect and the command after --", () => {
  const table: Array<[string[], string, string[]]> = [
    [["--", "portico"], DEFAULT_EXPECT, ["portico"]],
    [["--expect", "a.html", "--", "deno", "run", "--", "x"], "a.html", ["deno", "run", "--", "x"]],
    [["--expect=b.html", "--", "portico"], "b.html", ["portico"]],
  ];
  for (const [args, expect, command] of table) {
    assertEquals(parseSmokeArgs(args), { expect, command }, args.join(" "));
  }
});

Deno.test("parseSmokeArgs() refuses arguments without a command, with exit code 2", () => {
  for (const args of [[], ["portico"], ["--"], ["--expect", "--", "x"], ["--quiet", "--", "x"]]) {
    let thrown: unknown = null;
    try {
      parseSmokeArgs(args);
    } catch (error) {
      thrown = error;
    }
    assert(thrown instanceof SmokeError, args.join(" "));
    assertEquals(thrown.code, SMOKE_EXIT.usage);
    assertStringIncludes(thrown.message, "usage: ");
  }
});

const WORKFLOW = await Deno.readTextFile(join(REPO, ".github", "workflows", "release.yml"));
const DOCKERFILE = await Deno.readTextFile(join(REPO, "Dockerfile"));

/** The compile task's words. */
function compileTask(): string[] {
  const words = denoJson.tasks.compile.split(/\s+/);
  assertEquals(words.slice(0, 2), ["deno", "compile"]);
  return words;
}

/** Where the compile task writes the executable. */
function compileOutput(): string {
  const words = compileTask();
  const at = words.indexOf("--output");
  assert(at !== -1 && at + 1 < words.length, "the compile task names its output");
  return words[at + 1];
}

/** The workflow's lines that run a command starting with `start` (comments aside). */
function workflowCommands(start: string): string[] {
  return WORKFLOW.split("\n")
    .map((line) => line.trim().replace(/^run:\s*/, ""))
    .filter((line) => line.startsWith(start));
}

Deno.test("release.yml compiles with the compile task's flags and a --target", () => {
  const commands = workflowCommands("deno compile ");
  assertEquals(commands.length, 1, "one compile command for the whole matrix");
  const words = commands[0].split(/\s+/);
  assertEquals(words.slice(2, 4), ["--target", '"$TARGET"']);
  assertEquals([...words.slice(0, 2), ...words.slice(4)], compileTask());
  assertStringIncludes(WORKFLOW, "TARGET: ${{ matrix.target }}");
});

Deno.test("release.yml builds each target on a runner of its own platform", () => {
  const rows = [...WORKFLOW.matchAll(/- target: (\S+)\n\s+runner: (\S+)/g)];
  assertEquals(Object.fromEntries(rows.map((row) => [row[1], row[2]])), {
    "x86_64-unknown-linux-gnu": "ubuntu-latest",
    "aarch64-unknown-linux-gnu": "ubuntu-24.04-arm",
    "x86_64-apple-darwin": "macos-15-intel",
    "aarch64-apple-darwin": "macos-latest",
    "x86_64-pc-windows-msvc": "windows-latest",
  });
});

Deno.test("release.yml smoke-tests every binary with .ci/smoke.ts before it is uploaded", () => {
  const smoke = WORKFLOW.indexOf(
    `deno run ${SMOKE_PERMISSIONS.join(" ")} "$GITHUB_WORKSPACE/.ci/smoke.ts"`,
  );
  assert(smoke !== -1, "the workflow runs .ci/smoke.ts with the permissions it needs");
  const compile = WORKFLOW.indexOf("deno compile ");
  const upload = WORKFLOW.indexOf("actions/upload-artifact@");
  assert(compile < smoke && smoke < upload, "compile, then smoke test, then upload");
  assertStringIncludes(WORKFLOW, `-- "$GITHUB_WORKSPACE/${compileOutput()}$EXE"`);
});

Deno.test("release.yml sets up CI's Deno and publishes the binaries with SHA256SUMS", async () => {
  const ci = await Deno.readTextFile(join(REPO, ".ci", "run"));
  const version = /npx -y deno@(\d+\.\d+\.\d+) /.exec(ci)?.[1];
  assert(version !== undefined, ".ci/run names its Deno version");
  assertMatch(
    WORKFLOW,
    new RegExp(`denoland/setup-deno@v\\d+\\n\\s+with:\\n\\s+deno-version: "${version}"`),
  );
  assertStringIncludes(WORKFLOW, "sha256sum portico-* > SHA256SUMS");
  assertMatch(WORKFLOW, /gh release create [^\n]*\n[^\n]* portico-\* SHA256SUMS\n/);
  assertMatch(WORKFLOW, /tags: \["v\*"\]/);
});

Deno.test("Dockerfile copies the compile task's output and runs it as a non-root user", () => {
  assertMatch(DOCKERFILE, new RegExp(`^COPY ${compileOutput()} /portico$`, "m"));
  const user = /^USER (\S+)$/m.exec(DOCKERFILE)?.[1];
  assert(user !== undefined, "the Dockerfile sets a user");
  assert(!["root", "0"].includes(user.split(":")[0]), `${user} is not root`);
  assertMatch(DOCKERFILE, new RegExp(`^EXPOSE ${OPTIONS.port.default}$`, "m"));
  assertMatch(DOCKERFILE, /^ENTRYPOINT \["\/portico", "--host", "0\.0\.0\.0"\]$/m);
});

Deno.test("docs/deployment.md shows the Dockerfile as it is", async () => {
  const docs = await Deno.readTextFile(join(REPO, "docs", "deployment.md"));
  assertStringIncludes(docs, "```dockerfile\n" + DOCKERFILE + "```\n");
});
