/**
 * Self-healing workers: a worker that ends (here, an application that
 * calls `Deno.exit()` or `close()`) is started again and the server keeps
 * serving; one that keeps dying ends the program with exit code 1.
 */

import { assert, assertEquals, assertStringIncludes, join } from "../_deps.ts";
import { parsePrometheus, sampleValue } from "../_prometheus.ts";
import { withTempDir } from "../static/_static.ts";
import { REPO } from "./_process.ts";
import { startMain, withMain } from "./_main.ts";

const CRASH_APP = join(REPO, "tests/fixtures/apps/crash.ts");

/** Asks for a path on a connection of its own; the answer, or null when the worker went away. */
async function ask(url: string): Promise<string | null> {
  try {
    const response = await fetch(url, { headers: { connection: "close" } });
    return await response.text();
  } catch {
    return null;
  }
}

Deno.test("main.ts starts a worker that exited again, and the others serve meanwhile", async () => {
  await withMain(["--app", CRASH_APP, "--workers", "2"], async (main) => {
    assertEquals(await ask(main.url + "ok"), "alive /ok\n");
    // Either worker may take the request; one of them ends.
    await ask(main.url + "exit");
    const [line] = await main.waitForError(/worker \d stopped: it exited with code 70; .*\n/);
    assertStringIncludes(line, "starting it again in 100 ms");
    await main.waitForError(/worker \d started again/);
    for (let i = 0; i < 8; i++) assertEquals(await ask(main.url + `n${i}`), `alive /n${i}\n`);
  });
});

Deno.test("main.ts with one worker serves again after the worker closed itself", async () => {
  await withMain(["--app", CRASH_APP], async (main) => {
    await ask(main.url + "close");
    await main.waitForError(/worker 1 stopped: it closed itself/);
    await main.waitForError(/worker 1 started again/);
    assertEquals(await ask(main.url + "again"), "alive /again\n");
  });
});

Deno.test("main.ts ends with exit code 1 when a worker keeps dying", async () => {
  const main = await startMain(["--app", CRASH_APP]);
  try {
    for (let death = 1; death <= 6; death++) {
      await ask(main.url + "exit");
      const stopped = new RegExp(`(?:worker 1 stopped[^\\n]*\\n[^]*){${death}}`);
      await main.waitForError(stopped);
      if (death < 6) {
        const again = new RegExp(`(?:worker 1 started again[^]*){${death}}`);
        await main.waitForError(again);
      }
    }
    const result = await main.exited();
    assertEquals(result.code, 1, result.stderr);
    assertStringIncludes(result.stderr, "6 workers stopped within 60 s, giving up");
  } finally {
    await main.stop("SIGKILL");
  }
});

Deno.test("main.ts starts a worker again with the rules in force, and its totals never go back", async () => {
  await withTempDir({ "index.html": "<p>hi</p>\n" }, async (dir) => {
    const config = join(dir, "portico.json");
    const rules = (version: string) =>
      JSON.stringify({ rules: [{ path: "/*", headers: { set: { "x-version": version } } }] });
    await Deno.writeTextFile(config, rules("1"));
    const args = ["--app", CRASH_APP, "--root", dir, "--config", config, "--admin", "127.0.0.1:0"];
    await withMain(args, async (main) => {
      const [, admin] = /metrics: (http:\/\/\S+\/metrics)/.exec(
        await main.waitFor(/metrics: http:\/\/\S+\/metrics/),
      )!;
      const total = async () => {
        const text = await (await fetch(admin)).text();
        return sampleValue(parsePrometheus(text), "portico_connections_total") ?? -1;
      };
      for (let i = 0; i < 4; i++) await ask(main.url + `n${i}`);
      const before = await total();
      assert(before >= 4, `connections_total ${before} after four requests`);
      await Deno.writeTextFile(config, rules("2"));
      main.child.kill("SIGHUP");
      await main.waitFor(/reloaded the configuration and the rule files/);
      await ask(main.url + "exit");
      await main.waitForError(/worker 1 started again/);
      const response = await fetch(main.url + "after", { headers: { connection: "close" } });
      await response.body?.cancel();
      assertEquals(response.headers.get("x-version"), "2", "the new worker has the reloaded rules");
      const after = await total();
      assert(after >= before, `connections_total went from ${before} to ${after}`);
    });
  });
});
