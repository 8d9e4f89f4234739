/**
 * The `compile` task builds one executable that serves the bundled site. `deno
 * compile` downloads its runtime (denort) unless DENORT_BIN names a local
 * copy; where neither can be had, the test is reported as ignored with the
 * reason, never as passed.
 */

import { assert, assertEquals, join } from "./_deps.ts";
import denoJson from "../deno.json" with { type: "json" };
import { WWW } from "./_helpers.ts";

const REPO = new URL("..", import.meta.url).pathname;
const outDir = await Deno.makeTempDir();
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

const compiled = await new Deno.Command(Deno.execPath(), {
  args: compileArgs(),
  cwd: REPO,
  env: { NO_COLOR: "1" },
  stdin: "null",
  stdout: "piped",
  stderr: "piped",
  signal: AbortSignal.timeout(240_000),
}).output();
const compileLog = new TextDecoder().decode(compiled.stderr);
const runtimeUnavailable = !compiled.success &&
  /denort|Setting up base binary/.test(compileLog) &&
  /error sending request|dns error|Connect|timed out|download/i.test(compileLog);
const reason = runtimeUnavailable
  ? "deno compile could not download its runtime (denort) on this machine; " +
    "set DENORT_BIN to a local denort to run this test"
  : "";
if (runtimeUnavailable) console.warn(`compile_test: ignored: ${reason}`);

Deno.test({
  name: `compile task builds a binary that serves the bundled site${
    runtimeUnavailable ? ` (ignored: ${reason})` : ""
  }`,
  ignore: runtimeUnavailable,
  async fn() {
    try {
      assert(compiled.success, `deno compile failed:\n${compileLog}`);
      // Run it where there is no www/: it must fall back to the site inside it.
      const cwd = await Deno.makeTempDir();
      const child = new Deno.Command(binary, {
        args: ["--host", "127.0.0.1", "--port", "0"],
        cwd,
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      try {
        let output = "";
        let url: string | undefined;
        for (let i = 0; i < 50 && url === undefined; i++) {
          const { value, done } = await reader.read();
          if (done) break;
          output += value;
          url = /http:\/\/127\.0\.0\.1:\d+\//.exec(output)?.[0];
        }
        assert(url, `the binary printed no URL: ${output}`);
        const response = await fetch(url);
        assertEquals(await response.text(), await Deno.readTextFile(join(WWW, "index.html")));
      } finally {
        child.kill("SIGTERM");
        while (!(await reader.read()).done) {
          // Drain until it exits.
        }
        assertEquals((await child.status).code, 0);
        await Deno.remove(cwd, { recursive: true });
      }
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  },
});

if (runtimeUnavailable) await Deno.remove(outDir, { recursive: true });

Deno.test("compile task bakes in the serve task's flags and carries the worker module", () => {
  const compile = denoJson.tasks.compile.split(/\s+/);
  const serve = denoJson.tasks.serve.split(/\s+/);
  for (const flag of serve.filter((word) => word.startsWith("--"))) {
    assert(compile.includes(flag), `compile lacks ${flag}`);
  }
  const included = compile.flatMap((word, i) => word === "--include" ? [compile[i + 1]] : []);
  assertEquals(included.sort(), ["lib/worker.ts", "www"]);
});
