/**
 * The program as people start it by hand in a checkout: `deno run` with no
 * `--unstable-*` flags (deno.json declares the unstable features), and the
 * README's own `deno run` commands for an application. Each test starts a
 * real process on a port the system picks, waits for the URL it prints,
 * fetches `/`, and stops it with SIGTERM.
 */

import { assert, assertEquals, assertStringIncludes, join } from "../_deps.ts";
import { LISTENING_URL, REPO, spawnDeno } from "./_process.ts";

const LOCAL = ["--port", "0", "--host", "127.0.0.1"];

/** The application the README's commands are run with (README "Applications" names it). */
const EXAMPLE_APP = "tests/fixtures/apps/guestbook.ts";

/**
 * Starts `deno ARGS`, runs `fn` with the URL it prints, then stops it and
 * checks that SIGTERM ended it cleanly (exit 0) without a word about unstable
 * features.
 */
async function withDeno(args: string[], fn: (url: string) => Promise<void>): Promise<void> {
  const program = spawnDeno(args);
  let failed = true;
  try {
    await fn((await program.waitFor(LISTENING_URL))[0]);
    failed = false;
  } finally {
    const { status, stderr } = await program.stop();
    // A failure inside fn is the one to report; the exit is checked only after success.
    if (!failed) {
      assertEquals(status.code, 0, `deno ${args.join(" ")} exited with ${status.code}: ${stderr}`);
      assert(!/unstable/i.test(stderr), stderr);
    }
  }
}

Deno.test("deno run -A main.ts serves the bundled site without --unstable-* flags", async () => {
  await withDeno(["run", "-A", "main.ts", ...LOCAL], async (url) => {
    const response = await fetch(url);
    assertEquals(response.status, 200);
    assertEquals(await response.text(), await Deno.readTextFile(join(REPO, "www", "index.html")));
  });
});

// The `deno run ... main.ts --app app.ts` commands of the README and docs/,
// exactly as written (a line break inside the backticks counts as a space).
// The fixed-deployment example in docs/running.md names a port and a folder
// of its own, so it is not one of them.
const DOCS = [join(REPO, "README.md")];
for (const entry of Deno.readDirSync(join(REPO, "docs"))) DOCS.push(join(REPO, "docs", entry.name));
const README = DOCS.map((path) => Deno.readTextFileSync(path)).join("\n");
const README_APP_RUNS = [...README.matchAll(/`(deno run [^`]*?main\.ts --app app\.ts)`/g)]
  .map((match) => match[1].replace(/\s+/g, " "));

Deno.test("the docs show a deno run command for an application", () => {
  assert(README_APP_RUNS.length > 0, "the docs have no `deno run ... main.ts --app app.ts`");
});

for (const command of new Set(README_APP_RUNS)) {
  Deno.test(`README's \`${command}\` serves the application`, async () => {
    const args = command.split(" ").slice(1);
    args[args.lastIndexOf("app.ts")] = EXAMPLE_APP;
    await withDeno([...args, ...LOCAL], async (url) => {
      // Without --root every request goes to the application, `/` included.
      const root = await fetch(url);
      assertEquals(root.status, 404);
      assertEquals(await root.json(), { error: "not found" });
      const page = await fetch(new URL("guestbook", url));
      assertEquals(page.status, 200);
      assertStringIncludes(await page.text(), "<h1>Guestbook</h1>");
    });
  });
}
