import { assertEquals, assertThrows } from "../_deps.ts";
import { navigation } from "../../lib/site/navigation.ts";

/** What Chromium and Firefox send for a page load. */
const BROWSER_ACCEPT =
  "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

const FETCH_FIELDS = ["Sec-Fetch-Mode", "Sec-Fetch-Dest"];
const ALL_FIELDS = ["Sec-Fetch-Mode", "Sec-Fetch-Dest", "Accept"];

/** Cases: name, method, path, request fields, whether it navigates, the fields it varies on. */
const CASES: readonly (readonly [
  name: string,
  method: string,
  path: string,
  fields: Readonly<Record<string, string>>,
  navigate: boolean,
  vary: readonly string[],
])[] = [
  [
    "browser navigation",
    "GET",
    "/dashboard/settings",
    {
      "sec-fetch-mode": "navigate",
      "sec-fetch-dest": "document",
      "sec-fetch-site": "none",
      accept: BROWSER_ACCEPT,
    },
    true,
    ["Sec-Fetch-Mode"],
  ],
  [
    "browser navigation to a path with a dot",
    "GET",
    "/users/jane.doe",
    { "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" },
    true,
    ["Sec-Fetch-Mode"],
  ],
  [
    "document destination alone",
    "GET",
    "/page",
    { "sec-fetch-dest": "document" },
    true,
    FETCH_FIELDS,
  ],
  [
    "iframe",
    "GET",
    "/embed",
    { "sec-fetch-mode": "nested-navigate", "sec-fetch-dest": "iframe" },
    true,
    FETCH_FIELDS,
  ],
  ["values in another case", "GET", "/page", { "sec-fetch-mode": " Navigate " }, true, [
    "Sec-Fetch-Mode",
  ]],
  [
    "fetch()",
    "GET",
    "/api/users",
    { "sec-fetch-mode": "cors", "sec-fetch-dest": "empty", accept: "*/*" },
    false,
    FETCH_FIELDS,
  ],
  [
    "fetch() asking for HTML",
    "GET",
    "/partials/menu",
    { "sec-fetch-mode": "cors", "sec-fetch-dest": "empty", accept: "text/html" },
    false,
    FETCH_FIELDS,
  ],
  [
    "script",
    "GET",
    "/app.js",
    { "sec-fetch-mode": "no-cors", "sec-fetch-dest": "script", accept: "*/*" },
    false,
    FETCH_FIELDS,
  ],
  [
    "module script without an extension",
    "GET",
    "/chunks/vendor",
    { "sec-fetch-mode": "cors", "sec-fetch-dest": "script", accept: "*/*" },
    false,
    FETCH_FIELDS,
  ],
  [
    "image",
    "GET",
    "/img/logo.png",
    { "sec-fetch-mode": "no-cors", "sec-fetch-dest": "image", accept: "image/avif,*/*;q=0.8" },
    false,
    FETCH_FIELDS,
  ],
  [
    "destination alone, not a document",
    "GET",
    "/style",
    { "sec-fetch-dest": "style", accept: "text/css,*/*;q=0.1" },
    false,
    FETCH_FIELDS,
  ],
  [
    "old browser, page",
    "GET",
    "/dashboard/settings",
    { accept: BROWSER_ACCEPT },
    true,
    ALL_FIELDS,
  ],
  ["old browser, trailing slash", "GET", "/docs/", { accept: "text/html" }, true, ALL_FIELDS],
  ["old browser, root", "GET", "/", { accept: "text/html" }, true, ALL_FIELDS],
  ["old browser, dotted folder", "GET", "/v1.2/users", { accept: "text/html" }, true, ALL_FIELDS],
  ["old browser, dot first", "GET", "/.well-known", { accept: "text/html" }, true, ALL_FIELDS],
  ["old browser, script", "GET", "/app.js", { accept: BROWSER_ACCEPT }, false, ALL_FIELDS],
  ["old browser, image", "GET", "/img/logo.png", { accept: BROWSER_ACCEPT }, false, ALL_FIELDS],
  ["old browser, data", "GET", "/v1.2/data.json", { accept: BROWSER_ACCEPT }, false, ALL_FIELDS],
  ["any type alone", "GET", "/dashboard", { accept: "*/*" }, false, ALL_FIELDS],
  ["text/* alone", "GET", "/dashboard", { accept: "text/*" }, false, ALL_FIELDS],
  ["no Accept", "GET", "/dashboard", {}, false, ALL_FIELDS],
  ["media type in another case", "GET", "/a", { accept: "Text/HTML; Q=1" }, true, ALL_FIELDS],
  ["HTML with parameters", "GET", "/a", { accept: "text/html;level=1;q=0.5" }, true, ALL_FIELDS],
  ["HTML at q=0", "GET", "/a", { accept: "text/html;q=0, */*" }, false, ALL_FIELDS],
  ["HTML at q=0.000", "GET", "/a", { accept: "text/html; q=0.000" }, false, ALL_FIELDS],
  ["HTML at q=0.001", "GET", "/a", { accept: "text/html; q=0.001" }, true, ALL_FIELDS],
  ["HTML with a malformed q", "GET", "/a", { accept: "text/html;q=2" }, false, ALL_FIELDS],
  ["HTML listed twice", "GET", "/a", { accept: "text/html;q=0,text/html" }, true, ALL_FIELDS],
  [
    "HEAD navigation",
    "HEAD",
    "/dashboard",
    { "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" },
    true,
    ["Sec-Fetch-Mode"],
  ],
  ["HEAD from an old browser", "HEAD", "/dashboard", { accept: "text/html" }, true, ALL_FIELDS],
  [
    "POST of a form",
    "POST",
    "/dashboard",
    { "sec-fetch-mode": "navigate", "sec-fetch-dest": "document", accept: BROWSER_ACCEPT },
    false,
    [],
  ],
  ["OPTIONS", "OPTIONS", "/dashboard", { accept: "text/html" }, false, []],
];

Deno.test("navigation() tells page navigations from other requests and names what it read", () => {
  for (const [name, method, path, fields, navigate, vary] of CASES) {
    const request = new Request(`http://localhost${path}`, { method, headers: fields });
    assertEquals(navigation(request), { navigate, vary }, name);
  }
});

Deno.test("navigation() answers cannot be changed by a caller", () => {
  const request = new Request("http://localhost/", { headers: { "sec-fetch-mode": "navigate" } });
  const answer = navigation(request);
  assertThrows(() => (answer.vary as string[]).push("Cookie"));
  assertEquals(navigation(request).vary, ["Sec-Fetch-Mode"]);
});
