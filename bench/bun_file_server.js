/**
 * The benchmark's Bun.serve peer: a minimal static file handler, the Bun
 * counterpart of `deno_file_server.ts`. Per request it resolves the path
 * inside the root (never above it), and answers `Bun.file` of a regular
 * file, which Bun sends with Content-Length and Content-Type (no
 * validators); anything else is 404. No listings, ranges or compression.
 * It listens on 127.0.0.1 and prints nothing.
 *
 * ```sh
 * bun bench/bun_file_server.js ROOT PORT
 * ```
 *
 * @module
 */

import { stat } from "node:fs/promises";
import { resolve, sep } from "node:path";

const [rootArg, port] = process.argv.slice(2);
const root = resolve(rootArg);

function notFound() {
  return new Response("Not Found\n", { status: 404 });
}

/**
 * The file a URL path names inside the root, or null when it is not a
 * well-formed path or would leave the root.
 *
 * @param {string} pathname The URL's path, percent-encoded.
 * @returns {string | null} The file's path.
 */
function fileOf(pathname) {
  let path;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (path.includes("\0")) return null;
  const full = resolve(root, `.${path}`);
  return full.startsWith(root + sep) ? full : null;
}

/** @param {Request} request */
async function handler(request) {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Method Not Allowed\n", { status: 405 });
  }
  const path = fileOf(new URL(request.url).pathname);
  if (path === null) return notFound();
  try {
    if (!(await stat(path)).isFile()) return notFound();
  } catch {
    return notFound();
  }
  return new Response(Bun.file(path));
}

Bun.serve({ hostname: "127.0.0.1", port: Number(port), fetch: handler });
