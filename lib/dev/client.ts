/**
 * The live-reload script development mode adds to every full HTML document
 * (at `LIVE_SCRIPT_PATH`). It listens to the server's change events and
 * applies each change as gently as it can:
 *
 * - a changed stylesheet is swapped for a fresh copy of itself, the old one
 *   removed only once the new one has loaded, so the page keeps its styles,
 *   its scroll position and whatever was typed into it;
 * - a changed image is fetched again where an `<img>` or a `srcset` names it,
 *   and through the stylesheets otherwise (it may be a CSS background);
 * - anything else (HTML, scripts) reloads the page.
 *
 * When the stream breaks and comes back (the server restarted), the page
 * reloads once; when it cannot come back (the server returned without
 * `--dev`), the script stops quietly. A Content-Security-Policy that blocks
 * the stream is reported once in the console.
 *
 * The script is plain ES2020 in one function, served as it is written: no
 * build step, nothing to keep in sync but the paths it interpolates. It is a
 * `String.raw` template, so its backslashes are its own.
 *
 * @module
 */

import { LIVE_CHANGE_EVENT, LIVE_EVENTS_PATH } from "./paths.ts";

/**
 * The source of the live-reload script, served as `text/javascript`.
 *
 * It reads the events at `LIVE_EVENTS_PATH`: each `LIVE_CHANGE_EVENT` event
 * carries `{"reload": boolean, "css": string[], "images": string[]}`, the
 * paths decoded URL paths from the site's root ("/css/site.css").
 *
 * @example
 * ```ts
 * const response = new Response(LIVE_SCRIPT, {
 *   headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" },
 * });
 * ```
 */
export const LIVE_SCRIPT: string = String.raw`// Portico development mode: live reload.
(() => {
  "use strict";

  // Loaded twice (the page named it itself as well): the first copy does the work.
  const LOADED = Symbol.for("portico.live");
  if (window[LOADED]) return;
  window[LOADED] = true;
  if (typeof EventSource !== "function") return;

  const EVENTS_PATH = ${JSON.stringify(LIVE_EVENTS_PATH)};
  const CHANGE_EVENT = ${JSON.stringify(LIVE_CHANGE_EVENT)};
  /** The query parameter that makes a refreshed URL new to the browser's caches. */
  const BUST_PARAM = "portico-live";

  // The server is where this script came from; a <base> cannot lead elsewhere.
  const script = document.currentScript;
  const ORIGIN = new URL(script && script.src ? script.src : location.href).origin;
  const EVENTS_URL = new URL(EVENTS_PATH, ORIGIN).href;

  // --- URLs ---------------------------------------------------------------

  /** The decoded path of a same-origin URL, or null (another origin, not a URL). */
  function localPath(href) {
    let url;
    try {
      url = new URL(href, document.baseURI);
    } catch {
      return null;
    }
    if (url.origin !== ORIGIN) return null;
    try {
      return decodeURIComponent(url.pathname);
    } catch {
      return url.pathname; // A stray "%": compare it as it is.
    }
  }

  let lastStamp = 0;
  /** A value never used before for BUST_PARAM: the time, moved on when two changes share it. */
  function stamp() {
    lastStamp = Math.max(Date.now(), lastStamp + 1);
    return String(lastStamp);
  }

  /** The URL with BUST_PARAM set to a new value; its other parameters kept. */
  function busted(href, value) {
    const url = new URL(href, document.baseURI);
    url.searchParams.set(BUST_PARAM, value);
    return url.href;
  }

  // --- Stylesheets --------------------------------------------------------

  /** Old links waiting for their replacement to load; they are not refreshed again. */
  const retiring = new WeakSet();
  /** For each replacement still loading, the links it removes when it is done. */
  const replaces = new WeakMap();

  /** The same-origin stylesheet links in use (a disabled one never loads, nor matters). */
  function stylesheetLinks() {
    const selector = 'link[rel~="stylesheet" i][href]:not([disabled])';
    return Array.from(document.querySelectorAll(selector))
      .filter((link) => !retiring.has(link) && localPath(link.href) !== null);
  }

  /**
   * Puts a fresh copy of the link right after it; the old one goes once the
   * copy has loaded (or failed), so the page is never without its styles.
   */
  function refreshLink(link, value) {
    const fresh = link.cloneNode(false);
    fresh.href = busted(link.href, value);
    // A link still loading hands on what it was to remove.
    const old = [link].concat(replaces.get(link) || []);
    replaces.set(fresh, old);
    retiring.add(link);
    const done = guarded(() => {
      fresh.removeEventListener("load", done);
      fresh.removeEventListener("error", done);
      replaces.delete(fresh);
      for (const each of old) each.remove();
      // The fresh sheet names images as written: give it the changed ones' new URLs.
      if (fresh.sheet && imageStamps.size > 0) {
        refreshSheetUrls(fresh.sheet, imageStamps, new Set());
      }
    });
    fresh.addEventListener("load", done);
    fresh.addEventListener("error", done);
    link.after(fresh);
  }

  /** Refreshes every same-origin stylesheet link. */
  function refreshAllStylesheets() {
    const value = stamp();
    for (const link of stylesheetLinks()) refreshLink(link, value);
  }

  /**
   * Refreshes the links to the changed stylesheets. A path no link names may
   * be @import-ed or used by another sheet, so then every same-origin sheet
   * is refreshed; the server sends them with no-store, so what they import
   * is fetched again too.
   */
  function refreshStylesheets(paths) {
    const links = stylesheetLinks();
    const named = links.filter((link) => paths.includes(localPath(link.href)));
    const found = new Set(named.map((link) => localPath(link.href)));
    if (paths.some((path) => !found.has(path))) {
      refreshAllStylesheets();
      return;
    }
    const value = stamp();
    for (const link of named) refreshLink(link, value);
  }

  // --- Images -------------------------------------------------------------

  /**
   * For each image path that has changed, the BUST_PARAM value of its
   * latest change: a stylesheet fetched again names the image as it was
   * written, and gets these values too once it has loaded.
   */
  const imageStamps = new Map();

  /**
   * The candidates of a srcset attribute: each its URL and its descriptors,
   * as the HTML standard splits them (a URL ends at white space; a comma
   * outside parentheses ends the descriptors).
   */
  function parseSrcset(text) {
    const candidates = [];
    let at = 0;
    while (at < text.length) {
      while (at < text.length && /[\s,]/.test(text[at])) at++;
      if (at >= text.length) break;
      let end = at;
      while (end < text.length && !/\s/.test(text[end])) end++;
      let url = text.slice(at, end);
      at = end;
      let descriptors = "";
      if (url.endsWith(",")) {
        url = url.replace(/,+$/, "");
      } else {
        let depth = 0;
        while (at < text.length && (text[at] !== "," || depth > 0)) {
          if (text[at] === "(") depth++;
          if (text[at] === ")") depth = Math.max(0, depth - 1);
          descriptors += text[at++];
        }
        at++; // The comma.
      }
      candidates.push({ url, descriptors: descriptors.trim() });
    }
    return candidates;
  }

  /**
   * The srcset with the candidates of changed images busted, their paths
   * added to found; null when it names none.
   */
  function refreshedSrcset(text, stamps, found) {
    let changed = false;
    const candidates = parseSrcset(text).map(({ url, descriptors }) => {
      const path = localPath(url);
      if (stamps.has(path)) {
        changed = true;
        found.add(path);
        url = busted(url, stamps.get(path));
      }
      return descriptors === "" ? url : url + " " + descriptors;
    });
    return changed ? candidates.join(", ") : null;
  }

  /** A url() in a property's value: group 1 the double-quoted URL, 2 single-quoted, 3 bare. */
  const CSS_URL = /url\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^)\s]*))\s*\)/g;

  /**
   * Busts the url()s of changed images in one declaration block (a rule's
   * or an element's style attribute), adding their paths to found. The
   * browser keeps an image a page has shown, whatever its Cache-Control,
   * as long as the page asks for the same URL: a background only comes
   * again under a new one.
   */
  function refreshStyleUrls(style, base, stamps, found) {
    const changes = [];
    for (let i = 0; i < style.length; i++) {
      const name = style[i];
      const value = style.getPropertyValue(name);
      if (!value.includes("url(")) continue;
      let changed = false;
      const fresh = value.replace(CSS_URL, (whole, double, single, bare) => {
        const written = (double ?? single ?? bare).replace(/\\(.)/g, "$1");
        let url;
        try {
          url = new URL(written, base);
        } catch {
          return whole;
        }
        const path = localPath(url.href);
        if (!stamps.has(path)) return whole;
        changed = true;
        found.add(path);
        return "url(" + JSON.stringify(busted(url.href, stamps.get(path))) + ")";
      });
      if (changed) changes.push([name, fresh, style.getPropertyPriority(name)]);
    }
    for (const [name, value, priority] of changes) style.setProperty(name, value, priority);
  }

  /** Busts the changed images' url()s in a stylesheet's rules and in what they import. */
  function refreshSheetUrls(sheet, stamps, found) {
    let rules;
    try {
      rules = sheet.cssRules;
    } catch {
      return; // Another origin's sheet: its rules cannot be read, nor its images ours.
    }
    refreshRuleUrls(rules, sheet.href || document.baseURI, stamps, found);
  }

  /** Busts the changed images' url()s in rules, and in the rules they import or group. */
  function refreshRuleUrls(rules, base, stamps, found) {
    for (const rule of rules) {
      if (rule.styleSheet) refreshSheetUrls(rule.styleSheet, stamps, found); // @import
      if (rule.style) refreshStyleUrls(rule.style, base, stamps, found);
      if (rule.cssRules) refreshRuleUrls(rule.cssRules, base, stamps, found); // @media, nesting
    }
  }

  /** Busts the changed images' url()s in every readable stylesheet and style attribute. */
  function refreshBackgrounds(stamps, found) {
    for (const sheet of document.styleSheets) refreshSheetUrls(sheet, stamps, found);
    for (const element of document.querySelectorAll('[style*="url("]')) {
      refreshStyleUrls(element.style, document.baseURI, stamps, found);
    }
  }

  /**
   * Fetches the changed images again wherever the page names them: <img>
   * src, srcset (of <img> and <picture> sources) and url() in styles. A path
   * named nowhere the script can read (a sheet of another origin, say) has
   * every same-origin stylesheet fetched again, in case that reaches it.
   */
  function refreshImages(paths) {
    const value = stamp();
    const stamps = new Map(paths.map((path) => [path, value]));
    for (const path of paths) imageStamps.set(path, value);
    const found = new Set();
    for (const element of document.querySelectorAll("img[srcset], picture source[srcset]")) {
      const fresh = refreshedSrcset(element.getAttribute("srcset"), stamps, found);
      if (fresh !== null) element.setAttribute("srcset", fresh);
    }
    for (const img of document.querySelectorAll("img[src]")) {
      const path = localPath(img.getAttribute("src"));
      if (!stamps.has(path)) continue;
      found.add(path);
      img.src = busted(img.getAttribute("src"), value);
    }
    refreshBackgrounds(stamps, found);
    if (paths.some((path) => !found.has(path))) refreshAllStylesheets();
  }

  // --- Events -------------------------------------------------------------

  /** A change event's data, or null when it is not the shape the server sends. */
  function parseChange(data) {
    let change;
    try {
      change = JSON.parse(data);
    } catch {
      return null;
    }
    const paths = (list) =>
      Array.isArray(list) ? list.filter((path) => typeof path === "string") : [];
    if (change === null || typeof change !== "object") return null;
    return { reload: change.reload === true, css: paths(change.css), images: paths(change.images) };
  }

  function applyChange(change) {
    if (change.reload) {
      location.reload();
      return;
    }
    if (change.css.length > 0) refreshStylesheets(change.css);
    if (change.images.length > 0) refreshImages(change.images);
  }

  /** Runs a handler; whatever goes wrong stays here rather than in the page's error reports. */
  function guarded(handler) {
    return (event) => {
      try {
        handler(event);
      } catch (error) {
        console.debug("Portico live reload:", error);
      }
    };
  }

  let source;
  try {
    source = new EventSource(EVENTS_URL);
  } catch {
    return; // Not allowed to connect at all: nothing to reload.
  }

  // The stream had been open, broke, and opens again: the server restarted,
  // and what it serves may have changed while it was down.
  let opened = false;
  let broken = false;
  source.addEventListener("open", guarded(() => {
    if (opened && broken) {
      source.close();
      location.reload();
      return;
    }
    opened = true;
  }));
  source.addEventListener("error", guarded(() => {
    // CLOSED: the server answered but not with events (it runs without --dev
    // now); EventSource will not try again, and neither does this script.
    if (source.readyState === EventSource.CLOSED) return;
    if (opened) broken = true;
  }));
  source.addEventListener(CHANGE_EVENT, guarded((event) => {
    const change = parseChange(event.data);
    if (change !== null) applyChange(change);
  }));

  // A Content-Security-Policy whose connect-src leaves out the server blocks
  // the stream: say so once, and stop the retries that would only fail again.
  let warned = false;
  document.addEventListener("securitypolicyviolation", guarded((event) => {
    // A report-only policy blocks nothing.
    if (warned || event.disposition !== "enforce") return;
    if (localPath(event.blockedURI) !== EVENTS_PATH) return;
    warned = true;
    source.close();
    console.warn(
      "Portico live reload is off: this page's Content-Security-Policy (connect-src) blocks " +
        EVENTS_URL,
    );
  }));
})();
`;
