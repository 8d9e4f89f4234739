import { watchFiles, watchRuleFiles } from "../../lib/site/watch_rules.ts";
import { assert, assertEquals, join } from "../_deps.ts";
import { deadline } from "../_helpers.ts";
import { withTempDir } from "../static/_static.ts";

/** Far longer than the settling delay: only a safety net against a hang. */
const NOTICE_LIMIT_MS = 10_000;

Deno.test("watchRuleFiles() tells once when a rule file is written, created or removed", async () => {
  await withTempDir({ "index.html": "" }, async (root) => {
    for (const change of ["create", "write", "remove"] as const) {
      const told = Promise.withResolvers<void>();
      let count = 0;
      const stop = watchRuleFiles(root, () => {
        count++;
        told.resolve();
      }, (error) => told.reject(error));
      try {
        const path = join(root, "_redirects");
        if (change === "remove") await Deno.remove(path);
        else await Deno.writeTextFile(path, `/a /b 301\n# ${change}\n`);
        await deadline(told.promise, NOTICE_LIMIT_MS, `no notice for ${change}`);
        assertEquals(count, 1, change);
      } finally {
        stop();
      }
    }
  });
});

Deno.test("watchRuleFiles() reports a root it cannot watch and returns a stop that does nothing", () => {
  const errors: unknown[] = [];
  const stop = watchRuleFiles("/nonexistent/portico-root", () => {}, (error) => errors.push(error));
  stop();
  assertEquals(errors.length, 1);
  assert(errors[0] instanceof Deno.errors.NotFound);
});

Deno.test("watchFiles() tells each time a watched file is replaced by rename", async () => {
  await withTempDir({ "cert.pem": "one", "other.txt": "" }, async (dir) => {
    let told = Promise.withResolvers<void>();
    let count = 0;
    const stop = watchFiles([join(dir, "cert.pem")], () => {
      count++;
      told.resolve();
    }, (error) => told.reject(error));
    try {
      for (const round of [1, 2, 3]) {
        await Deno.writeTextFile(join(dir, "cert.pem.new"), `version ${round}`);
        await Deno.rename(join(dir, "cert.pem.new"), join(dir, "cert.pem"));
        await deadline(told.promise, NOTICE_LIMIT_MS, `no notice for replacement ${round}`);
        assertEquals(count, round);
        told = Promise.withResolvers<void>();
      }
    } finally {
      stop();
    }
  });
});
