/**
 * The hashing measurements (`--scenarios hash`): how fast portico makes the
 * content tags of files, and what that costs the first request for a file.
 * Portico's own code of the working tree runs in this process, with the
 * corpus's files already in the page cache; no wrk.
 *
 * @module
 */

import { serve } from "../lib/mod.ts";
import { contentTag, FileDigests } from "../lib/static/digest.ts";
import { denoFileSystem } from "../lib/static/fs.ts";
import { fetchHead, HOST } from "./_http.ts";
import type { HashRecord, HashTiming } from "./_report.ts";
import { HASH_SAMPLES } from "./_scenarios.ts";

/** The corpus's files the measurements use: one above the inline limit, one at it. */
const LARGE = "/100m.bin";
const INLINE = "/1m.bin";
/** How often, and how long at most, to ask whether the background hash is done. */
const POLL_MS = 5;
const POLL_LIMIT_MS = 60_000;

/** The timings, in report order; `bytes` is filled in for those with a throughput. */
const NAMES = {
  memory: "`contentTag()` of 100 MiB in memory",
  digests: "`FileDigests` of a 100 MiB file (read in 256 KiB chunks, hashed)",
  largeFirst: "`serve()`: first GET of a 100 MiB file, to the head (hashed later)",
  largeTagged: "`serve()`: from that GET until a HEAD carries the content tag",
  largeAgain: "`serve()`: GET of the 100 MiB file once hashed, to the head",
  inlineFirst: "`serve()`: first GET of a 1 MiB file, to the head (hashed inline)",
  inlineAgain: "`serve()`: second GET of the 1 MiB file, to the head",
} as const;

type TimingKey = keyof typeof NAMES;

/** Milliseconds `work` takes. */
async function timed(work: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/** `contentTag()` over the whole file read into memory. */
async function timeContentTag(path: string): Promise<number> {
  const bytes = await Deno.readFile(path);
  return await timed(() => contentTag(bytes));
}

/** `FileDigests` with nothing inline: `tagFor()` queues the file, `settled()` waits for its tag. */
async function timeFileDigests(path: string): Promise<number> {
  const real = await Deno.realPath(path);
  const digests = new FileDigests(denoFileSystem, { inlineBytes: 0 });
  const handle = await denoFileSystem.open(real);
  try {
    const stat = await handle.stat();
    const ms = await timed(async () => {
      await digests.tagFor(real, stat, handle);
      await digests.settled();
    });
    if (digests.known(real, stat) === undefined) throw new Error("FileDigests took no tag");
    return ms;
  } finally {
    handle.close();
  }
}

/** One GET to the response head: its time and ETag. */
async function timeHead(port: number, path: string): Promise<{ ms: number; etag: string }> {
  let etag: string | null = null;
  const ms = await timed(async () => {
    const { status, headers } = await fetchHead(port, path);
    if (status !== 200) throw new Error(`GET ${path} answered ${status}`);
    etag = headers.get("etag");
  });
  if (etag === null) throw new Error(`GET ${path} answered without an ETag`);
  return { ms, etag };
}

/** HEADs of `path` until its ETag is no longer `provisional`. */
async function untilRetagged(port: number, path: string, provisional: string): Promise<void> {
  const deadline = performance.now() + POLL_LIMIT_MS;
  while (performance.now() < deadline) {
    const { headers } = await fetchHead(port, path, "HEAD");
    if (headers.get("etag") !== provisional) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`${path} still had its provisional tag after ${POLL_LIMIT_MS / 1000} s`);
}

/**
 * The `serve()` timings on a fresh server (so nothing is hashed yet), with
 * the default `hashInlineBytes` (1 MiB). One GET of another file first, so
 * no timing includes the server's first-request warm-up.
 */
async function timeServe(corpus: string): Promise<Partial<Record<TimingKey, number>>> {
  const controller = new AbortController();
  const server = serve({
    root: corpus,
    hostname: HOST,
    port: 0,
    signal: controller.signal,
    onListen: () => {},
  });
  try {
    const { port } = server.addr;
    await fetchHead(port, "/12b");
    const inlineFirst = await timeHead(port, INLINE);
    const inlineAgain = await timeHead(port, INLINE);
    const started = performance.now();
    const largeFirst = await timeHead(port, LARGE);
    await untilRetagged(port, LARGE, largeFirst.etag);
    const largeTagged = performance.now() - started;
    const largeAgain = await timeHead(port, LARGE);
    return {
      inlineFirst: inlineFirst.ms,
      inlineAgain: inlineAgain.ms,
      largeFirst: largeFirst.ms,
      largeTagged,
      largeAgain: largeAgain.ms,
    };
  } finally {
    controller.abort();
    await server.finished;
  }
}

/**
 * Runs every hashing timing {@linkcode HASH_SAMPLES} times, each `serve()`
 * sample on a fresh server. A failure ends the measurement; what was timed
 * until then is kept.
 *
 * @param corpus The benchmark's corpus, with its 100 MiB and 1 MiB files.
 * @param progress Reports each sample.
 * @returns The timings, in report order.
 */
export async function measureHashing(
  corpus: string,
  progress: (line: string) => void,
): Promise<HashRecord> {
  const samples = Object.fromEntries(
    Object.keys(NAMES).map((key) => [key, [] as number[]]),
  ) as Record<TimingKey, number[]>;
  let error: string | null = null;
  let size: number | null = null;
  try {
    size = (await Deno.stat(`${corpus}${LARGE}`)).size;
    for (let i = 1; i <= HASH_SAMPLES; i++) {
      samples.memory.push(await timeContentTag(`${corpus}${LARGE}`));
      samples.digests.push(await timeFileDigests(`${corpus}${LARGE}`));
      for (const [key, ms] of Object.entries(await timeServe(corpus))) {
        samples[key as TimingKey].push(ms);
      }
      const line = (Object.keys(NAMES) as TimingKey[])
        .map((key) => `${key} ${samples[key].at(-1)?.toFixed(1)} ms`).join(", ");
      progress(`hashing, sample ${i}/${HASH_SAMPLES}: ${line}`);
    }
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  }
  const hashed: readonly TimingKey[] = ["memory", "digests", "largeTagged"];
  const timings: HashTiming[] = (Object.keys(NAMES) as TimingKey[]).map((key) => ({
    name: NAMES[key],
    bytes: hashed.includes(key) ? size : null,
    samplesMs: samples[key],
  }));
  return { timings, error };
}
