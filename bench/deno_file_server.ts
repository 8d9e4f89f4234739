/**
 * The benchmark's Deno.serve peer: a minimal static file handler in the
 * manner of Deno std's `file_server`, to show what `Deno.serve` with a
 * straightforward handler achieves. Per request it maps the URL path under
 * the root, `Deno.stat`s and `Deno.open`s the file and streams it with
 * Content-Length, Content-Type, ETag and Last-Modified, answering a matching
 * If-None-Match with 304. No directory listings, ranges or compression.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read=DIR bench/deno_file_server.ts --root DIR --port P
 * ```
 *
 * It listens on 127.0.0.1 and prints nothing. Exit code 2 for a mistake on
 * the command line.
 *
 * @module
 */

/** Where the peer serves from and on which port. */
export interface PeerOptions {
  /** The document root. */
  readonly root: string;
  /** The port on 127.0.0.1 (0: any free port). */
  readonly port: number;
}

const USAGE = "usage: deno_file_server.ts --root DIR --port P";

/**
 * Parses `--root DIR --port P` (also `--flag=value`).
 *
 * @param args The arguments.
 * @returns The options.
 * @throws {TypeError} With a one-line message for anything else.
 *
 * @example
 * ```ts
 * parsePeerArgs(["--root", "/srv", "--port=8000"]); // { root: "/srv", port: 8000 }
 * ```
 */
export function parsePeerArgs(args: readonly string[]): PeerOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const eq = args[i].indexOf("=");
    const name = eq === -1 ? args[i] : args[i].slice(0, eq);
    if (name !== "--root" && name !== "--port") throw new TypeError(`unknown argument ${name}`);
    const value = eq === -1 ? args[++i] : args[i].slice(eq + 1);
    if (value === undefined || value === "") throw new TypeError(`${name} needs a value`);
    values.set(name, value);
  }
  const root = values.get("--root");
  const port = values.get("--port");
  if (root === undefined || port === undefined) {
    throw new TypeError("--root and --port are required");
  }
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) {
    throw new TypeError(`--port must be from 0 to 65535, got "${port}"`);
  }
  return { root: root.replace(/\/+$/, "") || "/", port: Number(port) };
}

/**
 * The file path for a URL path under `root`, or null when the path is not
 * acceptable: undecodable, with a NUL, or with a `..` segment (which could
 * climb above the root).
 *
 * @example
 * ```ts
 * filePath("/srv", "/a%20b/c.html"); // "/srv/a b/c.html"
 * filePath("/srv", "/../etc/passwd"); // null
 * ```
 */
export function filePath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const segments = decoded.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.includes("..")) return null;
  return `${root === "/" ? "" : root}/${segments.join("/")}`;
}

/**
 * A weak validator from size and modification time, like std's file server.
 *
 * @example
 * ```ts
 * etag({ size: 12, mtime: new Date(0) }); // 'W/"c-0"'
 * ```
 */
export function etag(info: Pick<Deno.FileInfo, "size" | "mtime">): string {
  return `W/"${info.size.toString(16)}-${(info.mtime?.getTime() ?? 0).toString(16)}"`;
}

/**
 * Whether an If-None-Match field matches the current ETag (RFC 9110 §13.1.2:
 * `*`, or any listed tag under weak comparison).
 *
 * @example
 * ```ts
 * noneMatchHits('"x", W/"c-0"', 'W/"c-0"'); // true
 * noneMatchHits('"y"', 'W/"c-0"'); // false
 * ```
 */
export function noneMatchHits(field: string, current: string): boolean {
  if (field.trim() === "*") return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  return field.split(",").some((tag) => opaque(tag) === opaque(current));
}

/** Media types by extension; everything else is a byte stream. */
const MEDIA_TYPES = {
  ".html": "text/html; charset=UTF-8",
  ".txt": "text/plain; charset=UTF-8",
  ".css": "text/css; charset=UTF-8",
  ".js": "text/javascript; charset=UTF-8",
  ".json": "application/json",
} as const;

/**
 * The Content-Type for a path.
 *
 * @example
 * ```ts
 * mediaType("/srv/4k.html"); // "text/html; charset=UTF-8"
 * ```
 */
export function mediaType(path: string): string {
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".");
  const extension = dot > slash ? path.slice(dot).toLowerCase() : "";
  return Object.hasOwn(MEDIA_TYPES, extension)
    ? MEDIA_TYPES[extension as keyof typeof MEDIA_TYPES]
    : "application/octet-stream";
}

function plain(status: number, text: string): Response {
  return new Response(`${text}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=UTF-8" },
  });
}

/**
 * The Fetch handler: GET and HEAD of regular files under `root`.
 *
 * @param root The document root.
 * @returns A handler for `Deno.serve`.
 */
export function fileHandler(root: string): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return plain(405, "Method Not Allowed");
    }
    const path = filePath(root, new URL(request.url).pathname);
    if (path === null) return plain(404, "Not Found");
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      return plain(404, "Not Found");
    }
    if (!info.isFile) return plain(404, "Not Found");
    const tag = etag(info);
    const headers = new Headers({ etag: tag });
    if (info.mtime !== null) headers.set("last-modified", info.mtime.toUTCString());
    const ifNoneMatch = request.headers.get("if-none-match");
    if (ifNoneMatch !== null && noneMatchHits(ifNoneMatch, tag)) {
      return new Response(null, { status: 304, headers });
    }
    headers.set("content-type", mediaType(path));
    headers.set("content-length", String(info.size));
    if (request.method === "HEAD") return new Response(null, { headers });
    try {
      const file = await Deno.open(path, { read: true });
      return new Response(file.readable, { headers });
    } catch {
      return plain(404, "Not Found");
    }
  };
}

if (import.meta.main) {
  let options: PeerOptions;
  try {
    options = parsePeerArgs(Deno.args);
  } catch (error) {
    console.error(`deno_file_server: ${error instanceof Error ? error.message : error}; ${USAGE}`);
    Deno.exit(2);
  }
  Deno.serve(
    { hostname: "127.0.0.1", port: options.port, onListen: () => {} },
    fileHandler(options.root),
  );
}
