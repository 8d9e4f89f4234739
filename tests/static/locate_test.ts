import { assertEquals } from "../_deps.ts";
import { denoFileSystem, type FileStat } from "../../lib/static/fs.ts";
import { chooseTarget, locate, type Location } from "../../lib/static/locate.ts";
import { resolvePath, type StaticPath } from "../../lib/static/resolve.ts";
import { DocumentRoot, type Found } from "../../lib/static/root.ts";
import { ROOT, statOf } from "./_static.ts";

const FILE: FileStat = statOf(10);
const DIRECTORY: FileStat = statOf(0, 0, { isFile: false, isDirectory: true });
const DEVICE: FileStat = statOf(0, 0, { isFile: false });

function path(pathname: string): StaticPath {
  const resolved = resolvePath(pathname);
  if (resolved.kind !== "file") throw new Error(`${pathname} is ${resolved.kind}`);
  return resolved;
}

function found(name: string, stat: FileStat): Found {
  return { path: `/srv/${name}`, stat };
}

Deno.test("chooseTarget() decides between file, index, redirect and nothing", () => {
  const index = found("docs/index.html", FILE);
  const cases: [string, Found | null, Found | null, Location][] = [
    ["/a.txt", found("a.txt", FILE), null, {
      kind: "file",
      found: found("a.txt", FILE),
      name: "a.txt",
    }],
    ["/a.txt", null, null, { kind: "missing" }],
    ["/a.txt/", found("a.txt", FILE), null, { kind: "missing" }],
    ["/dev", found("dev", DEVICE), null, { kind: "missing" }],
    ["/docs/", found("docs", DIRECTORY), index, { kind: "file", found: index, name: "index.html" }],
    ["/docs", found("docs", DIRECTORY), index, { kind: "redirect", location: "/docs/" }],
    ["/a%20b", found("a b", DIRECTORY), index, { kind: "redirect", location: "/a%20b/" }],
    ["/docs/", found("docs", DIRECTORY), null, { kind: "missing" }],
    ["/docs", found("docs", DIRECTORY), null, { kind: "missing" }],
    ["/docs/", found("docs", DIRECTORY), found("docs/index.html", DIRECTORY), { kind: "missing" }],
    ["/", found("", DIRECTORY), index, { kind: "file", found: index, name: "index.html" }],
  ];
  for (const [pathname, target, indexFound, expected] of cases) {
    assertEquals(
      chooseTarget(path(pathname), target, indexFound, "index.html"),
      expected,
      pathname,
    );
  }
});

Deno.test("locate() finds files, indexes and redirects under the fixture root", async () => {
  const root = new DocumentRoot(ROOT, denoFileSystem);
  const real = await Deno.realPath(ROOT);
  const cases: [string, string][] = [
    ["/style.css", "file style.css style.css"],
    ["/", "file index.html index.html"],
    ["/docs/", "file docs/index.html index.html"],
    ["/docs", "redirect /docs/"],
    ["/noindex/", "missing"],
    ["/noindex", "missing"],
    ["/index.html/", "missing"],
    ["/missing.html", "missing"],
  ];
  for (const [pathname, expected] of cases) {
    const location = await locate(root, path(pathname), "index.html");
    const text = location.kind === "file"
      ? `file ${location.found.path.slice(real.length + 1)} ${location.name}`
      : location.kind === "redirect"
      ? `redirect ${location.location}`
      : "missing";
    assertEquals(text, expected, pathname);
  }
});
