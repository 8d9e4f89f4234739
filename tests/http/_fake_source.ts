/**
 * A scripted connection for reader and body tests.
 *
 * @module
 */

import { assert } from "../_deps.ts";
import type { ByteSource } from "../../lib/http/reader.ts";

/** A connection that hands out the given chunks, one per read, and logs each read. */
export class FakeSource implements ByteSource {
  #chunks: Uint8Array[];
  /** "read" for each read() call, shared with the test's own events. */
  readonly log: string[];

  constructor(chunks: ReadonlyArray<string | Uint8Array>, log: string[] = []) {
    this.#chunks = chunks.map((c) => typeof c === "string" ? bytes(c) : c);
    assert(this.#chunks.every((c) => c.length > 0), "a read never returns 0 bytes");
    this.log = log;
  }

  get reads(): number {
    return this.log.filter((e) => e === "read").length;
  }

  read(p: Uint8Array): Promise<number | null> {
    this.log.push("read");
    const chunk = this.#chunks.shift();
    if (chunk === undefined) return Promise.resolve(null);
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#chunks.unshift(chunk.subarray(n));
    return Promise.resolve(n);
  }
}

/** Text as Latin-1 bytes. */
export function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
