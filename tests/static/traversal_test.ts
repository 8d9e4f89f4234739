/**
 * Path traversal over a real socket: every way of naming a file outside the
 * document root that we know of, sent raw (so no client normalises it first)
 * to a static server and to `serve({ root })`. Next to the root lie a secret
 * file, a sibling folder whose name starts with the root's (to catch a
 * prefix comparison without a separator), and inside the root symlinks that
 * point out of it. No answer may carry the secret; each must be 400, 403, 404
 * or a 301 that does not lead to it either. Controls show the same servers do
 * serve what lies inside the root.
 */

import { assert, assertEquals, join } from "../_deps.ts";
import { silentLogger } from "../../lib/log.ts";
import { serve } from "../../lib/mod.ts";
import { exchange, latin1, type RawResponse, utf8, withServer } from "../_helpers.ts";

/** Statuses that refuse a request without serving a file. */
const REFUSALS: ReadonlySet<number> = new Set([400, 403, 404, 301]);

/** What `/etc/passwd` starts with on any Unix system. */
const PASSWD_MARKER = "root:x:0:0";

/**
 * The traversal forms, as request-targets. `<dir>` stands for the absolute
 * path of the folder that holds the root and the secret.
 */
const FORMS: readonly string[] = [
  // Dot segments, plain and percent-encoded (RFC 3986 §2.3 and §5.2.4).
  "/../secret.txt",
  "/./../secret.txt",
  "/./././../secret.txt",
  "/a/../../secret.txt",
  "/ok.txt/../../secret.txt",
  "/sub/../../secret.txt",
  "/..",
  "/%2e%2e/secret.txt",
  "/%2E%2E/secret.txt",
  "/%2e%2E/secret.txt",
  "/.%2e/secret.txt",
  "/%2e./secret.txt",
  "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
  "/.../secret.txt",
  "/....//secret.txt",
  "/..;/secret.txt",
  "/..%20/secret.txt",
  // Encoded separators.
  "/..%2fsecret.txt",
  "/..%2Fsecret.txt",
  "/%2e%2e%2fsecret.txt",
  "/..%2F..%2Fsecret.txt",
  "/%2fetc%2fpasswd",
  "/..%5csecret.txt",
  "/%5c..%5csecret.txt",
  "/%2e%2e%5csecret.txt",
  "/..\\secret.txt",
  "/\\..\\secret.txt",
  // Double and non-standard encodings.
  "/%252e%252e/secret.txt",
  "/..%252fsecret.txt",
  "/%%32%65%%32%65/secret.txt",
  "/..%u2216secret.txt",
  "/%u002e%u002e/secret.txt",
  // Overlong and invalid UTF-8 (RFC 3629 §3).
  "/%c0%ae%c0%ae/secret.txt",
  "/%c0%af",
  "/..%c0%afsecret.txt",
  "/..%c1%9csecret.txt",
  "/%c0%2e%c0%2e/secret.txt",
  "/%e0%80%ae%e0%80%ae/secret.txt",
  "/%f0%80%80%ae%f0%80%80%ae/secret.txt",
  // Full-width dots and percent signs, raw and encoded.
  "/％２ｅ％２ｅ/secret.txt",
  "/．．/secret.txt",
  "/%ef%bc%8e%ef%bc%8e/secret.txt",
  // NUL and other control characters.
  "/ok.txt%00.html",
  "/%00",
  "/..%00/secret.txt",
  "/..%09/secret.txt",
  // Characters that end or break a request-target.
  "/..#/secret.txt",
  "/.. /secret.txt",
  // Absolute-form targets (RFC 9112 §3.2.2) and other schemes.
  "http://x/../secret.txt",
  "http://x/%2e%2e/secret.txt",
  "file:///etc/passwd",
  "file://<dir>/secret.txt",
  // Absolute file-system paths.
  "//etc/passwd",
  "/etc/passwd",
  "/../../../../../../../../etc/passwd",
  "/<dir>/secret.txt",
  "/../../../../../../../..<dir>/secret.txt",
  "/C:/Windows/win.ini",
  // A sibling folder whose name starts with the root's.
  "/../rootsecret/secret.txt",
  "/%2e%2e/rootsecret/secret.txt",
  // Symlinks inside the root that point out of it.
  "/link-to-secret",
  "/link-to-secret/",
  "/rel-link",
  "/linkdir",
  "/linkdir/",
  "/linkdir/secret.txt",
  "/linkdir/index.html",
  "/linkdir/..%2fsecret.txt",
];

/** The fixture: a root, a secret beside it and symlinks out of it. */
interface Fixture {
  /** The folder that holds everything. */
  readonly dir: string;
  /** The document root. */
  readonly root: string;
  /** Text in every file outside the root and nowhere inside it. */
  readonly secret: string;
}

async function makeFixture(): Promise<Fixture> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "portico_traversal_" }));
  const root = join(dir, "root");
  const secret = `TOP-SECRET-${crypto.randomUUID()}`;
  await Deno.mkdir(join(root, "sub"), { recursive: true });
  await Deno.mkdir(join(dir, "rootsecret"));
  await Deno.writeTextFile(join(root, "index.html"), "<h1>INDEX-CONTROL</h1>");
  await Deno.writeTextFile(join(root, "ok.txt"), "OK-CONTROL");
  await Deno.writeTextFile(join(root, "sub", "inner.txt"), "INNER-CONTROL");
  await Deno.writeTextFile(join(dir, "secret.txt"), secret);
  await Deno.writeTextFile(join(dir, "rootsecret", "secret.txt"), secret);
  await Deno.writeTextFile(join(dir, "rootsecret", "index.html"), secret);
  await Deno.symlink(join(dir, "secret.txt"), join(root, "link-to-secret"));
  await Deno.symlink("../secret.txt", join(root, "rel-link"));
  await Deno.symlink(join(dir, "rootsecret"), join(root, "linkdir"));
  await Deno.symlink("ok.txt", join(root, "link-to-ok"));
  return { dir, root, secret };
}

/** Encodes a request: Latin-1 when every character fits in a byte, else UTF-8. */
function requestBytes(method: string, target: string): Uint8Array {
  const text = `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
  const wide = Array.from(text).some((c) => c.charCodeAt(0) > 0xff);
  return wide ? utf8(text) : latin1(text);
}

/** Asserts that a response carries nothing from outside the root. */
function assertNothingLeaked(response: RawResponse, fixture: Fixture, what: string): void {
  assert(!response.text.includes(fixture.secret), `${what} leaked the secret`);
  assert(!response.text.includes(PASSWD_MARKER), `${what} leaked /etc/passwd`);
  assert(!response.text.includes(fixture.dir), `${what} revealed a file-system path`);
}

/** Sends `form` with GET and HEAD and asserts that neither reaches outside the root. */
async function assertRefused(port: number, form: string, fixture: Fixture): Promise<void> {
  const target = form.replaceAll("<dir>", fixture.dir);
  for (const method of ["GET", "HEAD"]) {
    const what = `${method} ${target}`;
    const response = await exchange(port, requestBytes(method, target), method === "HEAD");
    assert(REFUSALS.has(response.status), `${what} answered ${response.status}`);
    assertNothingLeaked(response, fixture, what);
    if (response.status === 301) {
      // A redirect must stay on this site and must not lead to the secret either.
      const location = response.headers.get("location") ?? "";
      assert(/^\/(?![/\\])/.test(location), `${what} redirected to ${location}`);
      const followed = await exchange(port, requestBytes(method, location), method === "HEAD");
      assertNothingLeaked(followed, fixture, `${what} → ${location}`);
    }
  }
}

/** Asserts that a path inside the root is served, so the refusals above mean something. */
async function assertServed(port: number, target: string, body: string): Promise<void> {
  const get = await exchange(port, requestBytes("GET", target));
  assertEquals(get.status, 200, `GET ${target}`);
  assertEquals(get.text, body, `GET ${target}`);
  const head = await exchange(port, requestBytes("HEAD", target), true);
  assertEquals(head.status, 200, `HEAD ${target}`);
  assertEquals(head.headers.get("content-length"), String(utf8(body).length), `HEAD ${target}`);
}

Deno.test("serveStatic() never serves a file from outside the root", async (t) => {
  const fixture = await makeFixture();
  try {
    assertEquals(await Deno.readTextFile(join(fixture.root, "link-to-secret")), fixture.secret);
    await withServer(async (staticPort) => {
      const server = serve({
        root: fixture.root,
        hostname: "127.0.0.1",
        port: 0,
        onListen: () => {},
        logger: silentLogger,
      });
      // The same table against serveStatic() itself and serve({ root }).
      const ports = [staticPort, server.addr.port];
      try {
        await t.step("serveStatic() serves what lies inside the root", async () => {
          for (const port of ports) {
            await assertServed(port, "/ok.txt", "OK-CONTROL");
            await assertServed(port, "/%6fk.txt", "OK-CONTROL");
            await assertServed(port, "/sub/../ok.txt", "OK-CONTROL");
            await assertServed(port, "/sub/inner.txt", "INNER-CONTROL");
            await assertServed(port, "/link-to-ok", "OK-CONTROL");
            await assertServed(port, "/", "<h1>INDEX-CONTROL</h1>");
            await assertServed(port, "http://x/ok.txt", "OK-CONTROL");
          }
        });
        for (const form of FORMS) {
          await t.step(`serveStatic() never serves ${form} from outside the root`, async () => {
            for (const port of ports) await assertRefused(port, form, fixture);
          });
        }
      } finally {
        await server.shutdown();
      }
    }, { root: fixture.root });
  } finally {
    await Deno.remove(fixture.dir, { recursive: true });
  }
});
