import { assert, assertEquals, assertRejects, join } from "../_deps.ts";
import { denoFileSystem, type FileSystem } from "../../lib/static/fs.ts";
import { DocumentRoot, isWithin } from "../../lib/static/root.ts";
import { faultyFileSystem, withTempDir } from "./_static.ts";

Deno.test("isWithin() accepts the root and what lies below it, and nothing else", () => {
  const cases: [string, string, boolean][] = [
    ["/srv/www", "/srv/www", true],
    ["/srv/www", "/srv/www/a.html", true],
    ["/srv/www", "/srv/www/docs/a.html", true],
    ["/srv/www/", "/srv/www/a.html", true],
    ["/", "/etc/passwd", true],
    ["/srv/www", "/srv/www-private/a.html", false],
    ["/srv/www", "/srv/wwwa", false],
    ["/srv/www", "/srv", false],
    ["/srv/www", "/srv/secret.txt", false],
    ["/srv/www", "/etc/passwd", false],
  ];
  for (const [root, real, inside] of cases) {
    assertEquals(isWithin(root, real), inside, `${real} in ${root}`);
  }
});

Deno.test("DocumentRoot.find() finds files by their real path, only under the root", async () => {
  const files = {
    "root/inner.txt": "INNER",
    "root/docs/index.html": "docs",
    "root-private/secret.txt": "SECRET",
    "outside.txt": "OUTSIDE",
  };
  await withTempDir(files, async (dir) => {
    const rootPath = join(dir, "root");
    await Deno.symlink(join(dir, "outside.txt"), join(rootPath, "out.txt"));
    await Deno.symlink("../root-private", join(rootPath, "private"));
    await Deno.symlink("inner.txt", join(rootPath, "in.txt"));
    await Deno.symlink("nowhere.txt", join(rootPath, "dangling.txt"));
    const root = new DocumentRoot(rootPath, denoFileSystem);
    const real = await Deno.realPath(rootPath);
    const inner = await root.find(join(rootPath, "in.txt"));
    assertEquals(inner?.path, join(real, "inner.txt"));
    assertEquals(inner?.stat.size, 5);
    assert((await root.find(join(rootPath, "docs")))?.stat.isDirectory);
    assertEquals((await root.find(rootPath))?.path, real);
    for (const name of ["out.txt", "private/secret.txt", "dangling.txt", "missing.txt"]) {
      assertEquals(await root.find(join(rootPath, name)), null, name);
    }
  });
});

Deno.test("DocumentRoot.find() works through a root that is itself a symlink", async () => {
  await withTempDir({ "real/index.html": "home" }, async (dir) => {
    await Deno.symlink(join(dir, "real"), join(dir, "link"));
    const root = new DocumentRoot(join(dir, "link"), denoFileSystem);
    const found = await root.find(join(dir, "link", "index.html"));
    assertEquals(found?.path, join(await Deno.realPath(dir), "real", "index.html"));
  });
});

Deno.test("DocumentRoot.find() throws what is not a missing file, and asks for the root again", async () => {
  await withTempDir({ "root/a.txt": "a" }, async (dir) => {
    const rootPath = join(dir, "root");
    const denied = new Deno.errors.PermissionDenied("denied");
    const root = new DocumentRoot(rootPath, faultyFileSystem("stat", "a.txt", denied));
    assert(await assertRejects(() => root.find(join(rootPath, "a.txt"))) === denied);
    const exhausted = Object.assign(new Error("EMFILE"), { code: "EMFILE" });
    let calls = 0;
    const fs: FileSystem = {
      ...denoFileSystem,
      realPath: (path) => {
        calls++;
        return path === rootPath && calls === 1
          ? Promise.reject(exhausted)
          : denoFileSystem.realPath(path);
      },
    };
    const recovering = new DocumentRoot(rootPath, fs);
    assert(await assertRejects(() => recovering.find(join(rootPath, "a.txt"))) === exhausted);
    assertEquals((await recovering.find(join(rootPath, "a.txt")))?.stat.size, 1);
    await recovering.find(join(rootPath, "a.txt"));
    assertEquals(calls, 4, "the root's real path is learnt once it is known");
  });
});

Deno.test("DocumentRoot.path is the root made absolute", () => {
  assertEquals(new DocumentRoot("www", denoFileSystem).path, join(Deno.cwd(), "www"));
});
