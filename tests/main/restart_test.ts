/**
 * Self-healing workers: a worker that ends (here, an application that
 * calls `Deno.exit()` or `close()`) is started again and the server keeps
 * serving; one that keeps dying ends the program with exit code 1.
 */

import { assertEquals, assertStringIncludes, join } from "../_deps.ts";
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
