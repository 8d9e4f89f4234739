/**
 * Start-up: the paths the serving workers may read. Stopping the program is
 * tested on a running process in `main/shutdown_test.ts`.
 */

import { assertEquals, join } from "./_deps.ts";
import { readablePaths } from "../lib/startup.ts";

Deno.test("readablePaths() names the root and the app's folder, also by their real paths", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "portico_paths_" }));
  try {
    await Deno.mkdir(join(dir, "site"));
    await Deno.mkdir(join(dir, "app"));
    await Deno.symlink(join(dir, "site"), join(dir, "current"));
    const paths = await readablePaths(join(dir, "current"), join(dir, "app", "main.ts"));
    assertEquals(paths.sort(), [join(dir, "app"), join(dir, "current"), join(dir, "site")]);
    assertEquals(await readablePaths(join(dir, "site"), null), [join(dir, "site")]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
