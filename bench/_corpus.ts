/**
 * The files the benchmark serves. Text is deterministic pseudo-text from a
 * seeded generator, so every run and every revision serves the same bytes,
 * and it compresses about as real pages and scripts do: a repeated line
 * would compress absurdly well and flatter every compressing server.
 *
 * @module
 */

/** The seeded generator: mulberry32, uniform in [0, 1). */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Common English words and the vocabulary of a site about servers. */
const WORDS = (
  "the of and to in is that for it as was with be by on not he this are or his from at which " +
  "but have an they you were her she there been one all we their has would when if so no will " +
  "more can out up what about who into than them some could only other new time its then also " +
  "two server request file cache header response client connection browser page static " +
  "content compression network latency bytes stream socket protocol document encoding version " +
  "modified portico benchmark measure second memory worker process thread kernel buffer queue " +
  "timer"
).split(" ");

/** Identifiers of the pseudo-code. */
const NAMES = [
  "request",
  "response",
  "headers",
  "value",
  "index",
  "length",
  "buffer",
  "result",
  "options",
  "handler",
  "state",
  "count",
  "offset",
  "chunk",
  "error",
  "status",
  "cache",
  "entry",
  "node",
  "list",
  "key",
  "path",
  "size",
  "limit",
] as const;

/** Picks from lists with one generator. */
function picker(seed: number) {
  const next = generator(seed);
  return {
    next,
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)],
  };
}

/**
 * Pieces from `piece` while the next still fits in `size` bytes (ASCII),
 * then spaces and a newline to make exactly `size`: whole elements, whole
 * functions.
 */
function fill(size: number, piece: () => string): string {
  let text = "";
  for (let next = piece(); text.length + next.length < size; next = piece()) text += next;
  return `${text.padEnd(size - 1)}\n`;
}

/**
 * An HTML page of `size` bytes: a head, then paragraphs, list items and
 * headings of pseudo-English. It compresses about 3× (br at its highest
 * quality; gzip -6 about 2.7×).
 *
 * @param size Bytes, at least 200.
 * @returns The page, ASCII.
 *
 * @example
 * ```ts
 * new TextEncoder().encode(htmlPage(4096)).length; // 4096
 * ```
 */
export function htmlPage(size: number): string {
  const { next, pick } = picker(1);
  const open = '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    "<title>portico benchmark</title>\n</head>\n<body>\n";
  const close = "</body>\n</html>\n";
  const tags = ['p class="note"', "p", "p", 'li class="item"', "h2"] as const;
  const element = () => {
    const words = Array.from({ length: 6 + Math.floor(next() * 14) }, () => pick(WORDS));
    const sentence = words.join(" ");
    const tag = pick(tags);
    return `<${tag}>${sentence[0].toUpperCase()}${sentence.slice(1)}.</${tag.split(" ")[0]}>\n`;
  };
  return `${open}${fill(size - open.length - close.length, element)}${close}`;
}

/**
 * A JavaScript module of `size` bytes: documented functions of
 * declarations, calls, conditions and loops over a small vocabulary, like
 * unminified application code. It compresses about 4× (gzip -6, br quality
 * 4 or 5) to 5× (br quality 11); gzip -1 about 2.5×.
 *
 * @param size Bytes, at least 100.
 * @returns The module, ASCII.
 *
 * @example
 * ```ts
 * new TextEncoder().encode(scriptModule(1024)).length; // 1024
 * ```
 */
export function scriptModule(size: number): string {
  const { next, pick } = picker(2);
  const capital = (word: string) => `${word[0].toUpperCase()}${word.slice(1)}`;
  const joins = ["", "s", "Of", "At", "For", "By"] as const;
  const id = () => pick(NAMES) + (next() < 0.3 ? pick(joins) + capital(pick(NAMES)) : "");
  const num = () => String(Math.floor(next() * (next() < 0.8 ? 10 : 1000)));
  const operators = ["+", "-", "*", "===", "!==", "<", ">=", "&&", "||"] as const;
  const expression = () => {
    const k = next();
    if (k < 0.25) return id();
    if (k < 0.4) return num();
    if (k < 0.55) return `${id()}.${id()}`;
    if (k < 0.7) return `${id()}(${id()}, ${num()})`;
    if (k < 0.85) return `${id()} ${pick(operators)} ${id()}`;
    return `"${pick(WORDS)}"`;
  };
  const statement = () => {
    const k = next();
    if (k < 0.4) return `  const ${id()} = ${expression()};\n`;
    if (k < 0.6) return `  ${id()}.${id()}(${expression()});\n`;
    if (k < 0.75) return `  if (${expression()}) {\n    return ${expression()};\n  }\n`;
    if (k < 0.85) {
      return `  for (let ${id()} = 0; ${id()} < ${expression()}; ${id()}++) ` +
        `${id()}.push(${expression()});\n`;
    }
    return `  ${id()} = ${expression()};\n`;
  };
  let n = 0;
  const fn = () => {
    const params = Array.from({ length: Math.floor(next() * 4) }, id);
    const docs = params.map((p) => ` * @param ${p} The ${pick(WORDS)} ${pick(WORDS)}.\n`);
    const summary = `${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)}`;
    let out = `\n/**\n * ${capital(summary)}.\n${docs.join("")} */\n` +
      `export function ${id()}${n++}(${params.join(", ")}) {\n`;
    const statements = 2 + Math.floor(next() * 8);
    for (let i = 0; i < statements; i++) out += statement();
    return `${out}  return ${expression()};\n}\n`;
  };
  const strict = '"use strict";\n';
  return `${strict}${fill(size - strict.length, fn)}`;
}

/** Writes `mib` MiB of random bytes (incompressible) to `path`. */
async function writeRandom(path: string, mib: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(Math.min(mib, 1) * 1024 * 1024);
  for (let i = 0; i < Math.max(mib, 1); i++) {
    // getRandomValues fills at most 64 KiB per call.
    for (let at = 0; at < chunk.length; at += 65536) {
      crypto.getRandomValues(chunk.subarray(at, at + 65536));
    }
    for (let done = 0; done < chunk.length;) done += await file.write(chunk.subarray(done));
  }
}

/**
 * Writes the files served: 12 B of text, a 4 KiB HTML page, a 1 MiB
 * JavaScript module, and binaries of random bytes (64 KiB, 1 MiB, and with
 * `withLarge` 100 MiB).
 *
 * @param dir A directory to create.
 * @param withLarge Whether to write the 100 MiB file.
 */
export async function writeCorpus(dir: string, withLarge: boolean): Promise<void> {
  await Deno.mkdir(dir);
  await Deno.writeTextFile(`${dir}/12b`, "hello world\n");
  await Deno.writeTextFile(`${dir}/4k.html`, htmlPage(4096));
  await Deno.writeTextFile(`${dir}/1m.js`, scriptModule(1024 * 1024));
  const binaries = { "64k.bin": 1 / 16, "1m.bin": 1, ...(withLarge ? { "100m.bin": 100 } : {}) };
  for (const [name, mib] of Object.entries(binaries)) await writeRandom(`${dir}/${name}`, mib);
}
