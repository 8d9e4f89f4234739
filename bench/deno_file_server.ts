/**
 * The benchmark's Deno.serve peer: a minimal static file handler in the
 * manner of Deno std's `file_server`. Per request it `stat`s and opens the
 * file and streams it with Content-Length, Content-Type, a weak ETag and
 * Last-Modified, answering a matching If-None-Match with 304. No listings,
 * ranges or compression. It listens on 127.0.0.1 and prints nothing.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read=ROOT bench/deno_file_server.ts ROOT PORT
 * ```
 *
 * @module
 */

const [root, port] = Deno.args;

function notFound(): Response {
  return new Response("Not Found\n", { status: 404 });
}

async function handler(request: Request): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Method Not Allowed\n", { status: 405 });
  }
  let path: string;
  try {
    path = decodeURIComponent(new URL(request.url).pathname);
  } catch {
    return notFound();
  }
  if (path.includes("\0") || path.split("/").includes("..")) return notFound();
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(`${root}${path}`);
  } catch {
    return notFound();
  }
  if (!info.isFile) return notFound();
  const etag = `W/"${info.size.toString(16)}-${(info.mtime?.getTime() ?? 0).toString(16)}"`;
  const headers = new Headers({ etag, "last-modified": info.mtime?.toUTCString() ?? "" });
  const tags = request.headers.get("if-none-match")?.split(",").map((tag) => tag.trim());
  if (tags?.some((tag) => tag === "*" || tag.replace(/^W\//, "") === etag.slice(2))) {
    return new Response(null, { status: 304, headers });
  }
  const html = path.endsWith(".html");
  headers.set("content-type", html ? "text/html; charset=UTF-8" : "application/octet-stream");
  headers.set("content-length", String(info.size));
  if (request.method === "HEAD") return new Response(null, { headers });
  try {
    const file = await Deno.open(`${root}${path}`);
    return new Response(file.readable, { headers });
  } catch {
    return notFound();
  }
}

Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen: () => {} }, handler);
