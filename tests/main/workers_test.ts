/**
 * The sandbox and the workers: what a serving worker may do, proved from
 * inside one by an application that tries everything else, and several
 * workers serving one port.
 */

import { assert, assertEquals, assertStringIncludes, join } from "../_deps.ts";
import { assertUsageError, MAIN, runMain, serveTaskArgs, startMain, withMain } from "./_main.ts";
import { spawnDeno } from "./_process.ts";

const APPS = new URL("../fixtures/apps/", import.meta.url).pathname;

/** A document root with a secret file next to it and a symlink inside it pointing there. */
async function withSecretNextToRoot(
  fn: (paths: { dir: string; root: string; secret: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "portico_sandbox_" }));
  const root = join(dir, "root");
  const secret = join(dir, "secret.txt");
  try {
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(root, "public.txt"), "public");
    await Deno.writeTextFile(secret, "SECRET");
    await Deno.writeTextFile(join(dir, "secret.ts"), 'export default "SECRET";\n');
    await Deno.symlink(secret, join(root, "link.txt"));
    await fn({ dir, root, secret });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("main.ts runs an application that cannot read, write, run or connect outside its sandbox", async () => {
  await withSecretNextToRoot(async ({ dir, root, secret }) => {
    const other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const otherPort = String((other.addr as Deno.NetAddr).port);
    try {
      await withMain(
        ["--quiet", "--root", root, "--app", join(APPS, "escape.ts")],
        async (main) => {
          const attempt = async (op: string, arg = "") => {
            const query = new URLSearchParams({ op, arg });
            const response = await fetch(`${main.url}try?${query}`);
            return await response.text();
          };
          // What the worker may do: read the root and the application's folder.
          assertEquals(await attempt("read", join(root, "public.txt")), "allowed");
          assertEquals(await attempt("read", join(APPS, "whoami.ts")), "allowed");
          // Everything else fails with a permission error, even for code that asks directly.
          const denied = [
            ["read", secret],
            ["read", "/etc/hostname"],
            ["readDir", dir],
            ["write", join(root, "new.txt")],
            ["write", join(dir, "new.txt")],
            ["env", "HOME"],
            ["run", "true"],
            ["connect", otherPort],
            ["listen", "0"],
            ["sys"],
          ];
          for (const [op, arg] of denied) {
            const outcome = await attempt(op, arg);
            assertStringIncludes(outcome, "NotCapable: Requires ", `${op} ${arg ?? ""}`);
          }
          // Loading code from outside is refused the same way.
          const imported = await attempt("importFile", `file://${join(dir, "secret.ts")}`);
          assertStringIncludes(imported, "Requires read access");
          // The static layer does not follow a symlink out of the root. (Deno checks
          // the path as written, so application code could: see README.)
          // It is a miss, passed on to the application.
          const linked = await fetch(`${main.url}link.txt`);
          assertEquals([linked.status, await linked.text()], [400, "unknown op"]);
        },
      );
    } finally {
      other.close();
    }
    assertEquals(await Deno.readTextFile(secret), "SECRET");
    await Deno.stat(join(dir, "new.txt")).then(
      () => assert(false, "the application wrote a file"),
      (error) => assert(error instanceof Deno.errors.NotFound),
    );
  });
});

Deno.test("main.ts --workers 2 serves one port from two workers", async () => {
  const main = await startMain(["--quiet", "--workers", "2", "--app", join(APPS, "whoami.ts")]);
  try {
    assertStringIncludes(await main.waitFor(/workers/), "(2 workers)");
    const seen = new Set<string>();
    // Each new connection goes to either listener; both turn up long before the bound.
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      const response = await fetch(main.url, { headers: { connection: "close" } });
      seen.add(await response.text());
    }
    assertEquals([...seen].sort(), ["portico worker 1", "portico worker 2"]);
  } finally {
    const result = await main.stop();
    assertEquals(result.code, 0, result.stderr);
  }
});

Deno.test("main.ts --workers 2 refuses a port another program shares with reusePort", async () => {
  // Sockets that all ask for reusePort may share a port; the program checks first.
  const other = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
  try {
    const port = String((other.addr as Deno.NetAddr).port);
    assertUsageError(
      await runMain(["--host", "127.0.0.1", "--port", port, "--workers", "2"]),
      `port ${port} is already in use`,
    );
  } finally {
    other.close();
  }
});

Deno.test("main.ts refuses --workers above 1 without Deno's --unstable-net", async () => {
  // As outside a checkout: no deno.json, so only the unstable features named here.
  const args = [...serveTaskArgs(), "--no-config", "--unstable-worker-options"];
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...args, MAIN, "--host", "127.0.0.1", "--port", "0", "--workers", "2"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assertUsageError(
    { code: output.code, stderr: new TextDecoder().decode(output.stderr) },
    "--workers above 1 needs Deno's --unstable-net flag",
  );
});

Deno.test("main.ts says in one line when it may not set the workers' I/O batch", async () => {
  // The serve task's flags with the environment narrowed to PORT alone.
  const args = serveTaskArgs().map((word) =>
    word.startsWith("--allow-env=") ? "--allow-env=PORT" : word
  );
  const program = spawnDeno([...args, MAIN, "--host", "127.0.0.1", "--port", "0", "--quiet"]);
  let result;
  try {
    await program.waitFor(/http:\/\/127\.0\.0\.1:\d+\//);
  } finally {
    result = await program.stop("SIGTERM");
  }
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assertStringIncludes(lines[0], "--allow-env=PORT,DENO_TOKIO_MAX_IO_EVENTS_PER_TICK");
  assertStringIncludes(lines[0], "--io-events-per-tick 64");
});

Deno.test("main.ts with the serve task's flags sets the workers' I/O batch without a word", async () => {
  const main = await startMain(["--quiet", "--io-events-per-tick", "16"]);
  const result = await main.stop();
  assertEquals(result.code, 0);
  assertEquals(result.stderr, "");
});
