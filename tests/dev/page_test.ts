import { assert, assertEquals } from "../_deps.ts";
import { LIVE_SCRIPT_TAG } from "../../lib/dev/inject.ts";
import { isLiveCandidate, liveTag, withLiveScript } from "../../lib/dev/page.ts";

const encoder = new TextEncoder();
const TAG = new TextDecoder().decode(LIVE_SCRIPT_TAG);

/** A stream that gives `pieces` one read at a time, and records whether it was cancelled. */
function piecewise(pieces: readonly string[]): {
  stream: ReadableStream<Uint8Array>;
  cancelled: () => boolean;
} {
  let next = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < pieces.length) controller.enqueue(encoder.encode(pieces[next++]));
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

/** An HTML response as the static layer makes one. */
function htmlResponse(body: BodyInit | null, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  if (!headers.has("content-type")) headers.set("content-type", "text/html; charset=utf-8");
  return new Response(body, { ...init, headers });
}

Deno.test("withLiveScript() inserts the script and keeps Content-Length exact", async () => {
  const html = "<!doctype html><body>été</body>";
  const length = encoder.encode(html).length;
  const page = await withLiveScript(
    htmlResponse(html, { headers: { "content-length": String(length), etag: '"abc"' } }),
  );
  const bytes = new Uint8Array(await page.arrayBuffer());
  assertEquals(new TextDecoder().decode(bytes), `<!doctype html><body>été${TAG}</body>`);
  assertEquals(page.headers.get("content-length"), String(bytes.length));
  assertEquals(page.headers.get("etag"), '"abc-live"');
  assertEquals(page.status, 200);
});

Deno.test("withLiveScript() keeps the status of an error page", async () => {
  const page = await withLiveScript(htmlResponse("<html><h1>Gone</h1></html>", { status: 404 }));
  assertEquals(page.status, 404);
  assertEquals(await page.text(), `<html><h1>Gone</h1>${TAG}</html>`);
});

Deno.test("withLiveScript() reads on until the first bytes tell a document", async () => {
  const { stream } = piecewise([
    "\ufeff  ",
    "<!-- a ",
    "comment -->",
    "<ht",
    "ml><body>x</bo",
    "dy>",
  ]);
  const page = await withLiveScript(htmlResponse(stream));
  // Decoded keeping the byte-order mark, which `text()` would drop.
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(await page.arrayBuffer());
  assertEquals(text, `\ufeff  <!-- a comment --><html><body>x${TAG}</body>`);
});

Deno.test("withLiveScript() sends a fragment as it is", async () => {
  const { stream } = piecewise(["<li>one</li>", "<li>two</li></body>"]);
  const page = await withLiveScript(
    htmlResponse(stream, { headers: { "content-length": "31", etag: '"f"' } }),
  );
  assertEquals(await page.text(), "<li>one</li><li>two</li></body>");
  assertEquals(page.headers.get("content-length"), "31");
  assertEquals(page.headers.get("etag"), '"f"');
});

Deno.test("withLiveScript() leaves what is not a whole HTML body alone", async () => {
  const cases = [
    new Response("<html></html>", { headers: { "content-type": "text/plain" } }),
    htmlResponse("<html></html>", { status: 206, headers: { "content-range": "bytes 0-12/99" } }),
    htmlResponse("<html></html>", { headers: { "content-encoding": "gzip" } }),
    htmlResponse(null, { status: 304 }),
    new Response("<html></html>"),
  ];
  for (const response of cases) {
    assert(!isLiveCandidate(response));
    assertEquals(await withLiveScript(response), response);
  }
});

Deno.test("isLiveCandidate() takes text/html with parameters and in any case", () => {
  for (const type of ["text/html", "TEXT/HTML; charset=utf-8", "text/html;charset=iso-8859-1"]) {
    assert(isLiveCandidate(new Response("x", { headers: { "content-type": type } })), type);
  }
  assert(!isLiveCandidate(new Response("x", { headers: { "content-type": "text/htmlx" } })));
});

Deno.test("withLiveScript() cancels the file's stream when the client leaves", async () => {
  const { stream, cancelled } = piecewise(["<!doctype html>", "<body>", "x", "</body>"]);
  const page = await withLiveScript(htmlResponse(stream));
  const reader = page.body!.getReader();
  await reader.read();
  await reader.cancel();
  assert(cancelled());
});

Deno.test("liveTag() marks the tag of the modified bytes, weak or strong", () => {
  assertEquals(liveTag('"abc"'), '"abc-live"');
  assertEquals(liveTag('W/"abc"'), 'W/"abc-live"');
});
