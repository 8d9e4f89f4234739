/**
 * README "Library": another project imports `lib/mod.ts` by path, with no
 * deno.json of ours (no import map, no unstable features), and serves with
 * only the network and read permissions.
 */

import { assertEquals, join, toFileUrl } from "../_deps.ts";
import { LISTENING_URL, REPO, spawnDeno } from "./_process.ts";

Deno.test("lib/mod.ts serves from a project that has none of our configuration", async () => {
  const project = await Deno.makeTempDir({ prefix: "portico_library_" });
  try {
    const mod = toFileUrl(join(REPO, "lib", "mod.ts")).href;
    await Deno.writeTextFile(
      join(project, "server.ts"),
      `import { serve } from ${JSON.stringify(mod)};
const server = serve({
  root: ${JSON.stringify(join(REPO, "www"))},
  port: 0,
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(\`http://127.0.0.1:\${port}/\`),
});
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
`,
    );
    // --no-config: whatever configuration the project might have, none of it is ours.
    const program = spawnDeno(
      ["run", "--no-config", "--allow-net", "--allow-read", "server.ts"],
      project,
    );
    let failed = true;
    try {
      const url = (await program.waitFor(LISTENING_URL))[0];
      const response = await fetch(url);
      assertEquals(response.status, 200);
      assertEquals(await response.text(), await Deno.readTextFile(join(REPO, "www", "index.html")));
      failed = false;
    } finally {
      const { status, stderr } = await program.stop();
      if (!failed) assertEquals(status.code, 0, stderr);
    }
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});
