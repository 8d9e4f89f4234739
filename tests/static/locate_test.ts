import { assertEquals } from "../_deps.ts";
import { denoFileSystem, type FileStat } from "../../lib/static/fs.ts";
import {
  chooseTarget,
  DEFAULT_LAYOUT,
  type Layout,
  locate,
  type Location,
} from "../../lib/static/locate.ts";
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
      chooseTarget(path(pathname), { target, index: indexFound, page: null }, DEFAULT_LAYOUT),
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
    assertEquals(describe(await locate(root, path(pathname), DEFAULT_LAYOUT), real), expected);
  }
});

/** A location as one line: `file docs/index.html index.html`, `redirect /docs/`, `missing`. */
function describe(location: Location, real: string): string {
  if (location.kind === "file") {
    return `file ${location.found.path.slice(real.length + 1)} ${location.name}`;
  }
  if (location.kind === "redirect") return `redirect ${location.location}`;
  if (location.kind === "directory") return `directory ${location.found.path.slice(real.length)}`;
  return "missing";
}

/** What `chooseTarget()` decides for a site of `about.html`, `about/index.html`, `blog.html`, `docs/index.html`, `empty/` and `a.txt`. */
function decide(pathname: string, layout: Partial<Layout>): string {
  const file = (name: string) => found(name, FILE);
  const dir = (name: string) => found(name, DIRECTORY);
  const disk: Record<string, Found> = {
    "": dir(""),
    "index.html": file("index.html"),
    "about.html": file("about.html"),
    "about": dir("about"),
    "about/index.html": file("about/index.html"),
    "blog.html": file("blog.html"),
    "docs": dir("docs"),
    "docs/index.html": file("docs/index.html"),
    "empty": dir("empty"),
    "a.txt": file("a.txt"),
  };
  const resolved = path(pathname);
  const name = resolved.segments.join("/");
  const target = disk[name] ?? null;
  const index = target?.stat.isDirectory
    ? disk[name === "" ? "index.html" : `${name}/index.html`] ?? null
    : null;
  const page = name === "" ? null : disk[`${name}.html`] ?? null;
  const full = { ...DEFAULT_LAYOUT, ...layout };
  return describe(chooseTarget(resolved, { target, index, page }, full), "/srv");
}

Deno.test("chooseTarget() serves clean URLs and redirects .html names to them", () => {
  const cases: [string, string][] = [
    ["/blog", "file blog.html blog.html"],
    ["/blog.html", "redirect /blog"],
    ["/blog/", "redirect /blog"],
    ["/index.html", "redirect /"],
    ["/docs/index.html", "redirect /docs/"],
    ["/about", "file about.html about.html"],
    ["/about/", "file about/index.html index.html"],
    ["/a.txt", "file a.txt a.txt"],
    ["/nothing", "missing"],
  ];
  for (const [pathname, expected] of cases) {
    assertEquals(decide(pathname, { cleanUrls: true }), expected, pathname);
  }
});

Deno.test("chooseTarget() applies each trailing-slash policy to directories and pages", () => {
  const cases: [Layout["trailingSlash"], string, string][] = [
    ["auto", "/docs", "redirect /docs/"],
    ["auto", "/docs/", "file docs/index.html index.html"],
    ["always", "/blog", "redirect /blog/"],
    ["always", "/blog/", "file blog.html blog.html"],
    ["always", "/blog.html", "redirect /blog/"],
    ["always", "/docs", "redirect /docs/"],
    ["never", "/docs/", "redirect /docs"],
    ["never", "/docs", "file docs/index.html index.html"],
    ["never", "/", "file index.html index.html"],
    ["never", "/blog/", "redirect /blog"],
    ["never", "/a.txt/", "redirect /a.txt"],
    ["as-is", "/docs", "file docs/index.html index.html"],
    ["as-is", "/docs/", "file docs/index.html index.html"],
    ["as-is", "/blog/", "file blog.html blog.html"],
    ["as-is", "/blog", "file blog.html blog.html"],
  ];
  for (const [trailingSlash, pathname, expected] of cases) {
    const label = `${trailingSlash} ${pathname}`;
    assertEquals(decide(pathname, { cleanUrls: true, trailingSlash }), expected, label);
  }
});

Deno.test("chooseTarget() lists a directory without an index only when asked, at its path with /", () => {
  assertEquals(decide("/empty/", {}), "missing");
  assertEquals(decide("/empty/", { list: true }), "directory /empty");
  assertEquals(decide("/empty", { list: true }), "redirect /empty/");
  assertEquals(decide("/empty", { list: true, trailingSlash: "as-is" }), "directory /empty");
  assertEquals(decide("/docs/", { list: true }), "file docs/index.html index.html");
});
