import { assert, assertEquals } from "../_deps.ts";
import {
  cacheControlFor,
  type CacheControlPolicy,
  DEFAULT_CACHE_CONTROL,
  isFingerprinted,
} from "../../lib/static/cache_control.ts";

const HEX64 = "6d1f6c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b";

/** Real bundler output, by tool: every one must be recognised. */
const FINGERPRINTED: readonly (readonly [tool: string, name: string])[] = [
  ["Vite 5+ (Rollup 4)", "assets/index-C-bnRsKF.js"],
  ["Vite 5+ (Rollup 4)", "assets/vendor-BQ_Wz8nl.js"],
  ["Vite 5+ (Rollup 4)", "assets/index-B8kL2x_Q.css"],
  ["Vite 5+ (Rollup 4)", "assets/logo-Bq3xK9Zm.svg"],
  ["Vite 5+ (Rollup 4)", "assets/_plugin-vue_export-helper-DlAUqK2U.js"],
  ["Vite 5+ (Rollup 4)", "assets/index--bnRsKF1.js"],
  ["Vite legacy plugin", "assets/polyfills-legacy-Ab3_cD9e.js"],
  ["Vite worker", "assets/pdf.worker.min-Xy7_kQ2p.mjs"],
  ["Vite source map", "assets/index-C-bnRsKF.js.map"],
  ["Vite 3-4 (Rollup 3)", "assets/index-3f9a2c1b.js"],
  ["Vite 2", "assets/index.8e8c1f5a.js"],
  ["SvelteKit", "_app/immutable/entry/start.BQ_Wz8nl.js"],
  ["SvelteKit", "_app/immutable/nodes/0.Cm5xA7q-.js"],
  ["Astro", "_astro/index.C-bnRsKF.css"],
  ["Nuxt 3", "_nuxt/entry.B8kL2x_Q.css"],
  ["webpack 5", "main.3f9a2c1b4d5e6f708192.js"],
  ["webpack", "runtime.1a2b3c4d.js"],
  ["webpack source map", "main.3f9a2c1b.js.map"],
  ["Create React App", "static/js/main.8a7b6c5d.chunk.js"],
  ["Create React App", "static/js/787.8e0f4c2a.chunk.js"],
  ["Create React App", "static/css/main.5f361e03.css"],
  ["esbuild", "app-5XKQ7P2M.js"],
  ["esbuild", "chunk-ABCD2345.js"],
  ["Parcel", "index.8e8c1f5a.js"],
  ["Angular", "main.7d3b5c2a1f9e8d4c.js"],
  ["Angular", "styles.ef46db3751d8e999.css"],
  ["Angular lazy chunk", "123.4f5a6b7c8d9e0f1a.js"],
  ["Next.js", "_next/static/chunks/main-3f2a1b4c5d6e7f80.js"],
  ["Next.js", "_next/static/chunks/webpack-59c5c889f52620d6.js"],
  ["Next.js", "_next/static/chunks/2852872c-3f2a1b4c5d6e7f80.js"],
  ["Next.js", "_next/static/chunks/pages/_app-0a1b2c3d4e5f6789.js"],
  ["Next.js", "_next/static/css/8e2b7a1c4d5f6e30.css"],
  ["Gatsby", "component---src-pages-index-js-3f2a1b4c5d6e7f80a1b2.js"],
  ["Rails Sprockets", "assets/application-908e25f4bf641868d8683022a5b62f54.css"],
  ["Phoenix", "assets/app-5f8f6f1e9b8d2c3a4b5c6d7e8f9a0b1c.js"],
  ["Django", "static/css/base.27e20196a850.css"],
  ["Hugo", `css/main.min.${HEX64}.css`],
  ["Windows path", "dist\\assets\\index-C-bnRsKF.js"],
];

/** Names that look a little like hashes but are not: none may be recognised. */
const NOT_FINGERPRINTED: readonly (readonly [name: string, why: string])[] = [
  ["jquery-3.7.1.min.js", "a version"],
  ["lodash-4.17.21.js", "a version"],
  ["v1.2.3-beta.4.tar.gz", "a version"],
  ["2024-report.pdf", "a year"],
  ["report-20240115.pdf", "a date: digits only"],
  ["report.20240115.pdf", "a date after a dot"],
  ["build-12345678.js", "a counter: digits only"],
  ["photo-2023-08-14.jpg", "a date"],
  ["react-dom.production.min.js", "words"],
  ["bootstrap.bundle.min.js", "words"],
  ["vue.esm-browser.prod.js", "words"],
  ["font-awesome.css", "words"],
  ["background-image.png", "words"],
  ["chunk-vendors.js", "words"],
  ["my-component.js", "words"],
  ["apple-touch-icon.png", "words"],
  ["service-worker.js", "words, and must never be immutable"],
  ["manifest.webmanifest", "words"],
  ["application.js", "a word"],
  ["main.js", "a word"],
  ["styles.css", "a word"],
  ["index.html", "a word"],
  ["README.md", "a word"],
  ["favicon-32x32.png", "a size"],
  ["icon-192x192.png", "a size"],
  ["screenshot-1920x1080.png", "a size"],
  ["Hello-Dropdown.js", "one capitalised word"],
  ["Hello-WorldApp.js", "PascalCase: two runs"],
  ["Sidebar-UserMenu.js", "PascalCase: two runs"],
  ["Team-Photo-V2.jpg", "words and a version: four runs"],
  ["book.Chapter1.pdf", "a word and a number: two runs"],
  ["poster-COVID-19.pdf", "capitals without lower case, 1 and 9 not base32"],
  ["my-file-name_v2.js", "lower case only"],
  ["deadbeef.txt", "hex word without a digit"],
  ["build-deadbeef.js", "hex word without a digit"],
  ["cafe1234.png", "a bare hex stem shorter than 16"],
  ["main.deadbeef.js", "hex word without a digit"],
  ["avatars/550e8400-e29b-41d4-a716-446655440000.png", "a UUID names a record"],
  ["avatars/550E8400-E29B-41D4-A716-44665544ABCD.png", "an upper-case UUID"],
  ["uploads/user-1f0e2d3c-4b5a-4978-8695-a4b3c2d1e0f9.jpg", "a UUID after a prefix"],
  ["8e2b7a1c4d5f6e30", "no extension"],
  [".8e2b7a1c4d5f6e30.css", "a dotfile"],
  ["-C-bnRsKF.js", "nothing before the dash"],
  ["index-C-bnRsKF", "the hash is the extension's place: no extension"],
  ["main.3f9a2c1b", "the hash is the extension"],
  ["index-Cb-nRsKF7.js", "nine characters after the dash"],
  ["assets-C-bnRsKF/app.js", "a hash in a folder name"],
  ["8e2b7a1c4d5f6e30/index.html", "a hex folder name"],
];

Deno.test("isFingerprinted() recognises real bundler names", () => {
  for (const [tool, name] of FINGERPRINTED) assert(isFingerprinted(name), `${tool}: ${name}`);
});

Deno.test("isFingerprinted() rejects near misses", () => {
  for (const [name, why] of NOT_FINGERPRINTED) {
    assertEquals(isFingerprinted(name), false, `${name} (${why})`);
  }
});

Deno.test("isFingerprinted() misses some real hashes on purpose", () => {
  const cases: [string, string][] = [
    ["assets/index-DiwrgTda.js", "letters in two runs: reads like Hello-WorldApp.js"],
    ["app-ABCDEFGH.js", "base32 with no digit"],
    ["assets/index-12345678.js", "hex with no letter"],
    ["main.3F9A2C1B.js", "upper-case hex"],
    ["runtime.1a2b3c4.js", "hex shorter than 8"],
    ["1a2b3c4d.js", "a bare hex stem shorter than 16"],
  ];
  for (const [name, why] of cases) assertEquals(isFingerprinted(name), false, `${name} (${why})`);
});

Deno.test("isFingerprinted() accepts the documented false-positive shapes", () => {
  // Kept in view so that a change to them is a decision, not an accident.
  const cases = [
    "avatars/507f1f77bcf86cd799439011.jpg", // a hex record id
    "banner-Hi-Res2x.png", // five runs
    "games-PS2GAMES.png", // base32 letters with a digit
  ];
  for (const name of cases) assert(isFingerprinted(name), name);
});

Deno.test("isFingerprinted() judges hex hashes by alphabet, length and mix", () => {
  const cases: [string, boolean][] = [
    ["a.1234567a.js", true], // 8, the shortest
    ["a.1234567.js", false], // 7
    [`a.${HEX64}.js`, true], // 64, the longest
    [`a.${HEX64}0.js`, false], // 65
    ["a.1234567g.js", false], // not hex
    ["x-0123456789abcdef.js", true],
    ["0123456789abcdef.js", true], // a bare stem of 16
    ["0123456789abcde.js", false], // a bare stem of 15
    ["0123456789abcdef.min.js", true], // a bare first segment
    ["0000000000000000.js", false], // a bare stem with no letter
  ];
  for (const [name, expected] of cases) assertEquals(isFingerprinted(name), expected, name);
});

Deno.test("isFingerprinted() judges base32 hashes by alphabet and mix", () => {
  const cases: [string, boolean][] = [
    ["app-5XKQ7P2M.js", true],
    ["app-5XKQ7P2.js", false], // 7 characters
    ["app-5XKQ7P1M.js", false], // 1 is not base32 (and no lower case for base64url)
    ["app-2345672A.js", false], // one letter
    ["app-234567AB.js", true], // two letters
    ["app.5XKQ7P2M.js", true], // after a dot
  ];
  for (const [name, expected] of cases) assertEquals(isFingerprinted(name), expected, name);
});

Deno.test("isFingerprinted() counts the runs of base64url hashes", () => {
  const cases: [string, boolean][] = [
    ["C-bnRsKF", true], // C - bn Rs KF
    ["Ab-cd_Ef", true], // Ab - cd _ Ef
    ["aBcDeFgH", true], // a Bc De Fg H
    ["Ab-cdeEf", false], // Ab - cde Ef: four runs
    ["Ab-cdeEF", false], // Ab - cde EF: four runs
    ["ABCDefgh", false], // one run
    ["ab1cd2e_", false], // no upper case
    ["AB1CD2E_", false], // no lower case (and not base32)
  ];
  for (const [hash, expected] of cases) {
    assertEquals(hash.length, 8, hash);
    assertEquals(isFingerprinted(`x-${hash}.js`), expected, hash);
    assertEquals(isFingerprinted(`x.${hash}.js`), expected, hash);
  }
});

Deno.test("DEFAULT_CACHE_CONTROL gives hashed names a year, HTML no-cache, the rest 5 min", () => {
  assertEquals(DEFAULT_CACHE_CONTROL, {
    hashed: "public, max-age=31536000, immutable",
    html: "no-cache",
    other: "public, max-age=300",
  });
  assert(Object.isFrozen(DEFAULT_CACHE_CONTROL));
});

const POLICY: CacheControlPolicy = { hashed: "H", html: "D", other: "O" };

Deno.test("cacheControlFor() picks the rule by name, then by content type", () => {
  const cases: [string, string, string][] = [
    ["assets/index-C-bnRsKF.js", "text/javascript; charset=utf-8", "H"],
    ["index.html", "text/html; charset=utf-8", "D"],
    ["app.js", "text/javascript; charset=utf-8", "O"],
    ["logo.png", "image/png", "O"],
    // A hashed name wins over HTML.
    ["report.3f9a2c1b.html", "text/html; charset=utf-8", "H"],
    // The content type decides HTML, not the extension.
    ["page.htm", "text/html", "D"],
    ["index.html", "text/plain", "O"],
  ];
  for (const [name, type, expected] of cases) {
    assertEquals(cacheControlFor(name, type, POLICY), expected, `${name} ${type}`);
  }
});

Deno.test("cacheControlFor() gives the default values", () => {
  const cases: [string, string, string][] = [
    ["_next/static/css/8e2b7a1c4d5f6e30.css", "text/css", "public, max-age=31536000, immutable"],
    ["about/index.html", "text/html; charset=utf-8", "no-cache"],
    ["styles.css", "text/css; charset=utf-8", "public, max-age=300"],
  ];
  for (const [name, type, expected] of cases) {
    assertEquals(cacheControlFor(name, type, DEFAULT_CACHE_CONTROL), expected, name);
  }
});

Deno.test("cacheControlFor() ignores the case and parameters of text/html", () => {
  const html = ["text/html", "TEXT/HTML", "Text/Html; charset=UTF-8", " text/html ;charset=utf-8"];
  for (const type of html) assertEquals(cacheControlFor("page", type, POLICY), "D", type);
  const notHtml = ["text/htmlx", "application/xhtml+xml", "text/plain; x=text/html", ""];
  for (const type of notHtml) assertEquals(cacheControlFor("page", type, POLICY), "O", type);
});

Deno.test("cacheControlFor() returns null for a rule that is off, without falling through", () => {
  const cases: [Partial<CacheControlPolicy>, string, string][] = [
    [{ hashed: null }, "index.3f9a2c1b.html", "text/html"],
    [{ hashed: null }, "app-5XKQ7P2M.js", "text/javascript"],
    [{ html: null }, "index.html", "text/html; charset=utf-8"],
    [{ other: null }, "styles.css", "text/css"],
  ];
  for (const [off, name, type] of cases) {
    assertEquals(cacheControlFor(name, type, { ...POLICY, ...off }), null, name);
  }
  const none: CacheControlPolicy = { hashed: null, html: null, other: null };
  for (const [name, type] of [["a-5XKQ7P2M.js", "text/javascript"], ["a.html", "text/html"]]) {
    assertEquals(cacheControlFor(name, type, none), null, name);
  }
});
