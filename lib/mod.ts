/**
 * Portico as a library: serve a Fetch handler, a folder of static files, or
 * both, over Portico's own HTTP/1.1 implementation.
 *
 * @example Files and an application together
 * ```ts
 * import { serve } from "./lib/mod.ts";
 *
 * const server = serve({
 *   root: "www",
 *   port: 8080,
 *   handler: (request) => Response.json({ path: new URL(request.url).pathname }),
 * });
 * await server.finished;
 * ```
 *
 * @example Composing the static layer inside an application
 * ```ts
 * import { serve, serveStatic } from "./lib/mod.ts";
 *
 * const files = serveStatic("www");
 * serve({
 *   handler: (request, info) =>
 *     new URL(request.url).pathname === "/api/time"
 *       ? Response.json({ now: Date.now() })
 *       : files(request, info),
 * });
 * ```
 *
 * @module
 */

import { authority } from "./address.ts";
import {
  type Content,
  DEFAULT_CONTENT,
  DEFAULT_HOST,
  DEFAULT_LIMITS,
  DEFAULT_PORT,
  DEFAULT_TUNING,
  type Limits,
  type Tuning,
} from "./config.ts";
import { HttpError } from "./errors.ts";
import type { ErrorHandler, Handler, ServeInfo } from "./handler.ts";
import type { LiveOptions } from "./dev/site.ts";
import { join } from "./deps.ts";
import { site, switchableSite } from "./gateway.ts";
import { type CidrList, parseCidrList } from "./net/cidr.ts";
import { reloader } from "./reload.ts";
import { readTextFileSync, siteRulesFrom } from "./site/read.ts";
import { RuleError, type SiteRules, type TrailingSlash } from "./site/types.ts";
import { watchRuleFiles } from "./site/watch_rules.ts";
import type { TlsCertificate } from "./tls.ts";
import { consoleLogger, type Logger } from "./log.ts";
import { listen, type Server } from "./server.ts";
import {
  serveStatic,
  type StaticHandler,
  type StaticInfo,
  type StaticLookup,
  staticLookup,
  type StaticMiss,
  type StaticOptions,
} from "./static/mod.ts";

export {
  DEFAULT_CONTENT,
  DEFAULT_LIMITS,
  DEFAULT_TUNING,
  HttpError,
  RuleError,
  serveStatic,
  staticLookup,
};
export type {
  Content,
  ErrorHandler,
  Handler,
  Limits,
  LiveOptions,
  Logger,
  ServeInfo,
  Server,
  StaticHandler,
  StaticInfo,
  StaticLookup,
  StaticMiss,
  StaticOptions,
  TlsCertificate,
  TrailingSlash,
  Tuning,
};

/** Options for {@linkcode serve}. At least one of `handler` and `root` is needed. */
export interface ServeOptions {
  /**
   * The application. With `root` as well, it answers every request that no
   * file answers (any method but GET and HEAD, and paths with no file).
   */
  handler?: Handler;
  /** A folder of static files; alone, it is served as a static site with its `404.html`. */
  root?: string;
  /** How the static layer treats directories, dotfiles and misses. */
  static?: StaticOptions;
  /** The port (default 8000; 0 lets the system pick one). */
  port?: number;
  /**
   * The health endpoint's path (`/healthz`), answered before the site: 200
   * while serving, 503 from the start of a shutdown (see `limits.drainDelayMs`).
   */
  health?: string;
  /**
   * Serve HTTPS with this certificate chain and key (PEM text); the
   * server's `setCertificate()` replaces it while it serves.
   */
  tls?: TlsCertificate;
  /** The proxies that send a PROXY protocol header, as `--proxy-protocol` takes them. */
  proxyProtocol?: string;
  /** The proxies whose forwarding fields are believed, as `--trust-proxy` takes them. */
  trustProxy?: string;
  /** The address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** Shuts the server down when aborted. */
  signal?: AbortSignal;
  /** Called once the server listens; by default prints `Listening on http://...`. */
  onListen?: (addr: Deno.NetAddr) => void;
  /** Answers for a handler that throws; by default the error is logged and the answer is 500. */
  onError?: ErrorHandler;
  /** Limits and timeouts; unset fields keep {@linkcode DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
  /**
   * The hot-file cache and the file buffers; unset fields keep
   * {@linkcode DEFAULT_TUNING}. `static.cache` (false, or sizes) wins for the cache.
   */
  tuning?: Partial<Tuning>;
  /**
   * Compression of files and application responses, and files'
   * `Cache-Control`; unset fields keep {@linkcode DEFAULT_CONTENT}.
   * `static.compression` and `static.cacheControl` win for files.
   */
  content?: Partial<Content>;
  /** Where access lines and faults go; by default faults go to standard error. */
  logger?: Logger;
  /**
   * Development mode for `root`: watched, open pages reloaded on changes,
   * nothing cached (see the README's "Development"). Never for a server the
   * internet can reach. `{ app: true }`: the handler's HTML pages get the
   * live-reload script too.
   */
  dev?: boolean | LiveOptions;
  /**
   * The site's rules and behaviours for `root`, as the configuration file
   * writes them (README "Configuration"); the root's `_headers` and
   * `_redirects` are read as well, and read again by `reload()` and when
   * they change.
   */
  site?: SiteOptions;
}

/** The site's rules and behaviours: the configuration file's keys for them, as an object. */
export interface SiteOptions {
  /** Headers, redirects and rewrites by path pattern (the configuration file's `rules`). */
  rules?: readonly unknown[];
  /** CORS by path pattern (the configuration file's `cors`). */
  cors?: readonly unknown[];
  /** Pages by status, relative to the root (`{ "500": "errors/500.html" }`). */
  errorPages?: Readonly<Record<string, string>>;
  /** Answer page navigations to paths with no file with this page (true: `index.html`). */
  spa?: boolean | string;
  /** Serve `/about` from `about.html`. */
  cleanUrls?: boolean;
  /** The trailing-slash policy (default `auto`). */
  trailingSlash?: TrailingSlash;
  /** List directories without an index. */
  list?: boolean;
}

/** A server started by {@linkcode serve}. */
export interface SiteServer extends Server {
  /**
   * Reads the site's rules again (`options.site` and the root's rule files)
   * and serves new requests with them; requests in progress finish as they
   * started. Resolves with false, after one line to the logger, when they
   * cannot be used; the running rules stay.
   */
  reload(): Promise<boolean>;
}

/** Development mode's options from `ServeOptions.dev`, or null when it is off. */
function liveOptions(dev: boolean | LiveOptions | undefined): LiveOptions | null {
  if (dev === undefined || dev === false) return null;
  return dev === true ? { app: false } : dev;
}

/**
 * Starts a server. Throws at once when the address cannot be bound
 * (`Deno.errors.AddrInUse`, `Deno.errors.PermissionDenied`, ...).
 *
 * @param options The application, the static root, the address and hooks.
 * @returns The running server: its address, `finished` and `shutdown()`.
 * @throws {TypeError} When neither `handler` nor `root` is given.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const server = serve({
 *   port: 0,
 *   signal: controller.signal,
 *   onListen: ({ port }) => console.log(`on ${port}`),
 *   handler: async (request) => new Response(await request.text()),
 * });
 * controller.abort();
 * await server.finished;
 * ```
 */
export function serve(options: ServeOptions): SiteServer {
  const { handler, root } = options;
  const logger = options.logger ?? consoleLogger({ quiet: true });
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };
  const content = { ...DEFAULT_CONTENT, ...options.content };
  const dev = liveOptions(options.dev);
  const build = (rules: SiteRules) =>
    site(
      handler ?? null,
      root ?? null,
      { logger, cache: tuning, ...options.static },
      content,
      dev,
      { rules, onError: options.onError },
    );
  // Each unsupported rule-file line is told once, when it is first read.
  const reported = new Set<string>();
  const report = (line: string) => {
    if (!reported.has(line)) logger.error(line);
    reported.add(line);
  };
  const served = switchableSite(build(librarySiteRules(root ?? null, options.site, report)));
  const reload = reloader({
    read: () => Promise.resolve(librarySiteRules(root ?? null, options.site, report)),
    apply: (rules) => Promise.resolve(served.swap(build(rules))).then(() => null),
    report: (line, ok) => ok ? undefined : logger.error(line),
  });
  let unwatch = () => {};
  let server: Server;
  try {
    server = listen({
      hostname: options.hostname ?? DEFAULT_HOST,
      port: options.port ?? DEFAULT_PORT,
      handler: served.site.handler,
      shortcut: served.site.shortcut,
      limits: options.limits,
      tuning,
      logger,
      onError: options.onError,
      health: options.health ?? null,
      tls: options.tls ?? null,
      proxyProtocol: cidrsOf(options.proxyProtocol, "proxyProtocol"),
      trustProxy: cidrsOf(options.trustProxy, "trustProxy"),
      onShutdown: () => {
        unwatch();
        served.site.close();
      },
    });
  } catch (error) {
    served.site.close();
    throw error;
  }
  if (root !== undefined) unwatch = watchRuleFiles(root, () => void reload(), () => {});
  const onListen = options.onListen ??
    ((addr: Deno.NetAddr) => console.log(`Listening on http://${authority(addr)}/`));
  onListen(server.addr);
  if (options.signal?.aborted) server.shutdown();
  else options.signal?.addEventListener("abort", () => server.shutdown(), { once: true });
  return Object.assign(server, { reload });
}

/**
 * The rules `serve()` starts (or reloads) with: `options.site` and the
 * root's rule files, read synchronously. Rules that cannot be used throw a
 * `RuleError`; the lines of the rule files that use what is not supported
 * are reported.
 */
function librarySiteRules(
  root: string | null,
  options: SiteOptions = {},
  report: (line: string) => void,
): SiteRules {
  const texts = {
    headers: root === null ? null : readTextFileSync(join(root, "_headers")),
    redirects: root === null ? null : readTextFileSync(join(root, "_redirects")),
  };
  const configured = {
    file: "serve()",
    rules: options.rules,
    cors: options.cors,
    errorPages: options.errorPages ?? {},
  };
  const spa = options.spa ?? false;
  const flags = {
    spa: spa !== false,
    spaPage: typeof spa === "string" ? spa : "index.html",
    cleanUrls: options.cleanUrls ?? false,
    trailingSlash: options.trailingSlash ?? "auto",
    list: options.list ?? false,
  };
  const read = siteRulesFrom(texts, configured, flags);
  for (const line of read.unsupported) report(line);
  return read.rules;
}

/** A CIDR list option, parsed; undefined when not given. */
function cidrsOf(text: string | undefined, name: string): CidrList | null {
  return text === undefined ? null : parseCidrList(text, name);
}
