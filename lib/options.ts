/**
 * The one table of options. Each row names a command-line flag, the key it
 * sets, its group, the kind of value it takes, its default and range, and the
 * words that document it. Everything else is derived from the table: the
 * flags `lib/cli.ts` parses and how it checks them, the `--help` text, the
 * library's `Limits` and `Tuning` types and their defaults (`lib/config.ts`),
 * and the README's flag and limits tables (checked by `tests/readme_test.ts`).
 *
 * @module
 */

/**
 * Where a row belongs: what serves, how the site answers paths, what bounds
 * a client, how the server spends memory, or how files are encoded and
 * cached by clients.
 */
export type OptionGroup = "serve" | "https" | "site" | "limits" | "tuning" | "content";

/**
 * The kind of value a flag takes, which says how it is parsed and shown:
 * `size` (bytes, or with K, M, G), `duration` (milliseconds, given as
 * seconds or with ms, s, m), `count` (a whole number), `port`, `host`,
 * `string` (not empty), `boolean` (a switch), `command` (`--help`,
 * `--version`: the switch is an action, not a value), `codings` (a comma
 * list of content codings, or `off`), `field` (a header field value, or
 * `off` for none) and `choice` (one of the row's `choices`).
 */
export type OptionKind =
  | "choice"
  | "codings"
  | "field"
  | "size"
  | "duration"
  | "count"
  | "port"
  | "host"
  | "string"
  | "boolean"
  | "command";

/** One row of {@linkcode OPTIONS}. */
export interface OptionSpec {
  /** The long flag, without `--`. */
  readonly flag: string;
  /** A one-letter alias, without `-`. */
  readonly short?: string;
  /** The section it belongs to. */
  readonly group: OptionGroup;
  /** How its value is parsed and shown. */
  readonly kind: OptionKind;
  /** The value when the flag is not given (null: none). */
  readonly default: number | string | boolean | null | readonly string[];
  /** The values a `choice` row accepts. */
  readonly choices?: readonly string[];
  /** False for a flag that has no key in the configuration file (`--config` itself). */
  readonly fileKey?: false;
  /** The smallest value accepted (numeric kinds; milliseconds for durations). */
  readonly min?: number;
  /** The largest value accepted (numeric kinds), when there is a bound of its own. */
  readonly max?: number;
  /** An environment variable read when the flag is not given. */
  readonly env?: string;
  /** Whether the count also accepts `auto`: one per CPU, at most `max`. */
  readonly auto?: boolean;
  /** What 0 means, when it is not a plain number (`no limit`). */
  readonly zero?: string;
  /** For strings: what an empty value lacks (`--root needs a directory`). */
  readonly needs?: string;
  /** The value's name in the help and the README (`SIZE`, `TIME`, `N`, `DIR`). */
  readonly placeholder?: string;
  /** The help line (without the default, which is added). */
  readonly help: string;
  /** The README "Command line" table's meaning (markdown, without the range). */
  readonly meaning: string;
  /** The README "Limits and security" table's name for it; rows without are not listed there. */
  readonly limit?: string;
  /** That table's "on excess": what happens beyond the limit. */
  readonly excess?: string;
}

import type { Coding } from "./encoding/negotiate.ts";
import { TRAILING_SLASH } from "./site/types.ts";
import { LOG_FORMATS } from "./log.ts";

const KIB = 1024;
/** The default `Cache-Control` of files that are neither hashed nor HTML. */
const DEFAULT_OTHER_CACHE_CONTROL = "public, max-age=300";
const MIB = 1024 * 1024;

/**
 * Every option, in the order the help and the README list them. The key of
 * a row is the option's name in {@linkcode GroupValues} (so `Limits`,
 * `Tuning` and the CLI's options); its doc comment is that field's.
 *
 * @example
 * ```ts
 * OPTIONS.maxBodyBytes.flag; // "max-body"
 * OPTIONS.maxBodyBytes.default; // 10485760
 * ```
 */
export const OPTIONS = {
  /** The document root as given (not yet resolved). */
  root: {
    flag: "root",
    group: "serve",
    kind: "string",
    default: "www",
    needs: "a directory",
    placeholder: "DIR",
    help: "Document root to serve, relative to the working directory; with --app, files are " +
      "served only when --root is given",
    meaning: "document root, relative to the working directory",
  },
  /** The application module to load, or null to serve files only. */
  app: {
    flag: "app",
    group: "serve",
    kind: "string",
    default: null,
    needs: "a module path",
    placeholder: "MODULE",
    help: "Run the Fetch application that MODULE exports as default (a function " +
      "(request) => Response, or an object with fetch); a GET or HEAD for a file under --root " +
      "is answered with the file, every other request goes to the app",
    meaning: "run the Fetch application MODULE exports (see below)",
  },
  /** The port; 0 picks a free one. */
  port: {
    flag: "port",
    group: "serve",
    kind: "port",
    default: 8000,
    env: "PORT",
    placeholder: "N",
    help: "Port to listen on; 0 picks a free port",
    meaning: "port to listen on; `0` lets the system pick a free one",
  },
  /** The address to listen on. */
  hostname: {
    flag: "host",
    group: "serve",
    kind: "host",
    default: "0.0.0.0",
    placeholder: "ADDR",
    help: "Address to listen on; use :: for IPv6, 127.0.0.1 for local only",
    meaning: "address to listen on; `::`, `::1` and `[::1]` work",
  },
  /** How many sandboxed workers serve the address (each with its own listener). */
  workers: {
    flag: "workers",
    group: "serve",
    kind: "count",
    default: 1,
    min: 1,
    max: 256,
    auto: true,
    placeholder: "N",
    help: 'Serve with N sandboxed workers sharing the port, or "auto" for one per CPU',
    meaning: "serve from N sandboxed workers sharing the port; `auto`: one per CPU",
  },
  /** Development mode: live reload, no caching. */
  dev: {
    flag: "dev",
    group: "serve",
    kind: "boolean",
    default: false,
    help: "Development mode: watch the root, reload open pages when files change (stylesheets " +
      "and images in place), cache nothing; never for a server the internet can reach",
    meaning: "development mode: live reload, nothing cached (see [Development](#development))",
  },
  /** With `dev`, the application's HTML pages get the live-reload script too. */
  devApp: {
    flag: "dev-app",
    group: "serve",
    kind: "boolean",
    default: false,
    help: "With --dev, also put the live-reload script into the application's HTML pages",
    meaning: "with `--dev`, the application's HTML pages reload too",
  },
  /** No access log. */
  quiet: {
    flag: "quiet",
    group: "serve",
    kind: "boolean",
    default: false,
    help: "Do not print an access-log line per request",
    meaning: "no access-log line per request",
  },
  /** The access log's format. */
  logFormat: {
    flag: "log-format",
    group: "serve",
    kind: "choice",
    choices: LOG_FORMATS,
    default: "text",
    placeholder: "FORMAT",
    help: "Access-log format: text, combined (as nginx and Apache write it) or json (one " +
      "object per line)",
    meaning: "access-log format: `text`, `combined` (nginx/Apache) or `json` (one object a line)",
  },
  /** Whether each response carries its request's id as `X-Request-Id`. */
  requestIdHeader: {
    flag: "request-id",
    group: "serve",
    kind: "boolean",
    default: false,
    help: "Send each request's id (the one the access log records) as X-Request-Id",
    meaning: "send the logged request id as `X-Request-Id`",
  },
  /** The health endpoint's path, or null for none. */
  health: {
    flag: "health",
    group: "serve",
    kind: "string",
    default: null,
    needs: "a path such as /healthz",
    placeholder: "PATH",
    help: "Answer PATH (such as /healthz) before the site: 200 while serving, 503 once a " +
      "graceful shutdown begins",
    meaning: "health endpoint for load balancers: 200, or 503 from the start of a shutdown",
  },
  /** The certificate chain file (PEM) to serve HTTPS with, or null for plain HTTP. */
  cert: {
    flag: "cert",
    group: "https",
    kind: "string",
    default: null,
    needs: "a PEM file",
    placeholder: "FILE",
    help: "Serve HTTPS with the certificate chain in FILE (PEM; with --key); a change to the " +
      "file is picked up without a restart",
    meaning: "serve HTTPS with this certificate chain (PEM), reloaded when it changes",
  },
  /** The private key file (PEM) of `cert`. */
  key: {
    flag: "key",
    group: "https",
    kind: "string",
    default: null,
    needs: "a PEM file",
    placeholder: "FILE",
    help: "The private key of --cert (PEM: PKCS#8, RSA or EC)",
    meaning: "the private key of `--cert` (PEM: PKCS#8, RSA or EC)",
  },
  /** Obtain certificates for these domains over ACME, or null for none. */
  acme: {
    flag: "acme",
    group: "https",
    kind: "string",
    default: null,
    needs: "domain names such as example.com,www.example.com",
    placeholder: "DOMAINS",
    help: "Obtain and renew a certificate for DOMAINS (comma-separated) from an ACME CA such " +
      "as Let's Encrypt, answering its HTTP-01 challenge on --redirect-http's port",
    meaning: "obtain and renew a certificate for these domains over ACME (HTTP-01)",
  },
  /** The contact address given to the ACME CA. */
  acmeEmail: {
    flag: "acme-email",
    group: "https",
    kind: "string",
    default: null,
    needs: "an e-mail address",
    placeholder: "ADDRESS",
    help: "The e-mail address the ACME CA may write to about the certificates",
    meaning: "the address the ACME CA may write to",
  },
  /** The ACME directory URL. */
  acmeDirectory: {
    flag: "acme-directory",
    group: "https",
    kind: "string",
    default: "https://acme-v02.api.letsencrypt.org/directory",
    needs: "a URL",
    placeholder: "URL",
    help: "The ACME CA's directory URL (Let's Encrypt's staging: " +
      "https://acme-staging-v02.api.letsencrypt.org/directory)",
    meaning: "the ACME CA's directory",
  },
  /** A CA certificate to trust for the ACME server, or null. */
  acmeCaCert: {
    flag: "acme-ca-cert",
    group: "https",
    kind: "string",
    default: null,
    needs: "a PEM file",
    placeholder: "FILE",
    help: "Trust the CA in FILE (PEM) for the ACME server's own HTTPS (a private ACME server)",
    meaning: "trust this CA (PEM) for the ACME server's HTTPS",
  },
  /** Where the ACME account key and certificates are kept, or null for the default. */
  acmeDir: {
    flag: "acme-dir",
    group: "https",
    kind: "string",
    default: null,
    needs: "a folder",
    placeholder: "DIR",
    help: "Keep the ACME account key and the certificates in DIR (default: portico/acme under " +
      "the user's data folder); keys are written with mode 0600",
    meaning: "where the ACME account and certificates are kept (default: the user's data folder)",
  },
  /** A plain-HTTP port that redirects to HTTPS, or null for none. */
  redirectHttp: {
    flag: "redirect-http",
    group: "https",
    kind: "string",
    default: null,
    needs: "a port",
    placeholder: "PORT",
    help: "Also listen for plain HTTP on PORT and answer every request with 308 to the same " +
      "path on HTTPS (ACME challenges are answered there)",
    meaning: "plain-HTTP port that redirects (308) to HTTPS and answers ACME challenges",
  },
  /** Send `Strict-Transport-Security` over HTTPS. */
  hsts: {
    flag: "hsts",
    group: "https",
    kind: "boolean",
    default: false,
    help: "Send Strict-Transport-Security over HTTPS (never over plain HTTP)",
    meaning: "send `Strict-Transport-Security` over HTTPS",
  },
  /** The HSTS max-age, in seconds. */
  hstsMaxAge: {
    flag: "hsts-max-age",
    group: "https",
    kind: "count",
    default: 31_536_000,
    min: 0,
    max: 63_072_000,
    placeholder: "N",
    help: "The max-age of --hsts, in seconds",
    meaning: "max-age of `--hsts`, in seconds",
  },
  /** Add `includeSubDomains` to HSTS. */
  hstsSubdomains: {
    flag: "hsts-subdomains",
    group: "https",
    kind: "boolean",
    default: false,
    help: "Add includeSubDomains to --hsts",
    meaning: "add `includeSubDomains` to `--hsts`",
  },
  /** Add `preload` to HSTS. */
  hstsPreload: {
    flag: "hsts-preload",
    group: "https",
    kind: "boolean",
    default: false,
    help: "Add preload to --hsts (see hstspreload.org before asking for it)",
    meaning: "add `preload` to `--hsts`",
  },
  /** The admin listener's address (metrics, health), or null for none. */
  admin: {
    flag: "admin",
    group: "serve",
    kind: "string",
    default: null,
    needs: "a port or HOST:PORT such as 127.0.0.1:9100",
    placeholder: "ADDR",
    help: "Serve Prometheus metrics at /metrics (and --health) on ADDR: a port on 127.0.0.1, " +
      "or HOST:PORT",
    meaning:
      "metrics (`/metrics`) and health on another address: a port on 127.0.0.1, or `HOST:PORT`",
  },
  /** The proxies whose connections begin with a PROXY protocol header, or null for none. */
  proxyProtocol: {
    flag: "proxy-protocol",
    group: "serve",
    kind: "string",
    default: null,
    needs: "addresses or CIDRs such as 127.0.0.1,10.0.0.0/8",
    placeholder: "CIDRS",
    help: "Read a PROXY protocol header (v1 or v2) first on connections from these addresses " +
      "(such as 10.0.0.0/8,::1; also loopback, private); its client is the one logged and seen",
    meaning: "PROXY protocol from these proxies (addresses, CIDRs, `loopback`, `private`)",
  },
  /** The proxies whose `Forwarded` and `X-Forwarded-*` fields are believed, or null for none. */
  trustProxy: {
    flag: "trust-proxy",
    group: "serve",
    kind: "string",
    default: null,
    needs: "addresses or CIDRs such as 127.0.0.1,10.0.0.0/8",
    placeholder: "CIDRS",
    help: "Believe Forwarded, X-Forwarded-For and X-Forwarded-Proto from these addresses only " +
      "(the rightmost address not among them is the client)",
    meaning: "take the client from `Forwarded`/`X-Forwarded-For` sent by these proxies",
  },
  /** The configuration file, or null to look for `portico.json` or `portico.jsonc`. */
  config: {
    flag: "config",
    group: "serve",
    kind: "string",
    default: null,
    fileKey: false,
    needs: "a file",
    placeholder: "FILE",
    help: "Read options and rules from FILE (JSON with comments); without it, portico.json or " +
      "portico.jsonc in the working directory is read when there is one; flags win over the file",
    meaning: "options and rules from FILE (see [Configuration](#configuration)); " +
      "default: `portico.json` or `portico.jsonc` when present",
  },
  /** `--help`: print the usage and exit. */
  help: {
    flag: "help",
    short: "h",
    group: "serve",
    kind: "command",
    default: null,
    help: "Show this help and exit",
    meaning: "usage with examples",
  },
  /** `--version`: print the version and exit. */
  version: {
    flag: "version",
    short: "V",
    group: "serve",
    kind: "command",
    default: null,
    help: "Print the version and exit",
    meaning: "the version",
  },
  /** Whether page navigations to paths with no file get the single-page application's page. */
  spa: {
    flag: "spa",
    group: "site",
    kind: "boolean",
    default: false,
    help: "Answer a page navigation to a path with no file with --spa-page and 200; missing " +
      "assets (scripts, images, fetch() calls) keep their 404",
    meaning: "single-page application fallback for page navigations only",
  },
  /** The page single-page navigations fall back to, relative to the root. */
  spaPage: {
    flag: "spa-page",
    group: "site",
    kind: "string",
    default: "index.html",
    needs: "a file under the root",
    placeholder: "FILE",
    help: "The page --spa answers navigations with, relative to the root",
    meaning: "the page `--spa` answers with, relative to the root",
  },
  /** Whether `/about` serves `about.html` and `/about.html` redirects to `/about`. */
  cleanUrls: {
    flag: "clean-urls",
    group: "site",
    kind: "boolean",
    default: false,
    help: "Serve /about from about.html, and redirect /about.html to /about",
    meaning: "`/about` serves `about.html`; `/about.html` redirects to `/about`",
  },
  /** How trailing slashes are treated for directories and pages. */
  trailingSlash: {
    flag: "trailing-slash",
    group: "site",
    kind: "choice",
    choices: TRAILING_SLASH,
    default: "auto",
    placeholder: "POLICY",
    help: "auto (directories get a /, pages none), always, never or as-is (nothing redirected)",
    meaning: "`auto`: directories get a `/`, pages none; `always`, `never`, `as-is`",
  },
  /** Whether a directory without an index is listed. */
  list: {
    flag: "list",
    group: "site",
    kind: "boolean",
    default: false,
    help: "List the files of a directory that has no index (HTML, or JSON for " +
      "Accept: application/json); dotfiles stay hidden",
    meaning: "list directories that have no index",
  },

  /** Longest request-target in bytes; longer → 414. */
  maxTargetBytes: {
    flag: "max-target",
    group: "limits",
    kind: "size",
    default: 8 * KIB,
    min: 1,
    max: 1 * MIB,
    placeholder: "SIZE",
    help: "Longest request-target (path and query); longer → 414",
    meaning: "longest request-target: path and query",
    limit: "request-target",
    excess: "414 and close",
  },
  /** Largest header section (request line and fields) in bytes; larger → 431. */
  maxHeadBytes: {
    flag: "max-head",
    group: "limits",
    kind: "size",
    default: 32 * KIB,
    min: 1 * KIB,
    max: 1 * MIB,
    placeholder: "SIZE",
    help: "Largest request head (request line and header fields); larger → 431",
    meaning: "largest request head: request line and header fields",
    limit: "header section",
    excess: "431 and close",
  },
  /** Most header fields in one request; more → 431. */
  maxHeaderFields: {
    flag: "max-fields",
    group: "limits",
    kind: "count",
    default: 100,
    min: 1,
    placeholder: "N",
    help: "Most header fields in one request; more → 431",
    meaning: "most header fields in one request",
    limit: "header fields",
    excess: "431 and close",
  },
  /** Largest request body in bytes; larger → 413 and the connection closes. */
  maxBodyBytes: {
    flag: "max-body",
    group: "limits",
    kind: "size",
    default: 10 * MIB,
    min: 0,
    placeholder: "SIZE",
    help: "Largest request body; larger → 413",
    meaning: "largest request body: bytes, or `K`, `M`, `G` (powers of 1024)",
    limit: "request body",
    excess: "413 and close",
  },
  /**
   * Most unread request-body bytes read and dropped after a response so the
   * connection can carry the next request; with more left, it closes instead.
   */
  maxDrainBytes: {
    flag: "max-drain",
    group: "limits",
    kind: "size",
    default: 256 * KIB,
    min: 0,
    placeholder: "SIZE",
    help: "Most of an unread request body dropped after a response to keep the connection; " +
      "with more left it closes",
    meaning: "most of an unread request body dropped to keep the connection open",
    limit: "unread request body dropped",
    excess: "close",
  },
  /** Time allowed to receive a whole request head, from its first byte; longer → 408 and close. */
  headerTimeoutMs: {
    flag: "header-timeout",
    group: "limits",
    kind: "duration",
    default: 10_000,
    min: 1,
    placeholder: "TIME",
    help: "Time to receive a whole request head; longer → 408",
    meaning: "time to receive a whole request head",
    limit: "time to receive a request head",
    excess: "408 and close",
  },
  /** Time a connection may wait for the first byte of its next request before it is closed. */
  idleTimeoutMs: {
    flag: "idle-timeout",
    group: "limits",
    kind: "duration",
    default: 5_000,
    min: 1,
    placeholder: "TIME",
    help: "Time a kept-alive connection may wait for a request",
    meaning: "time a kept-alive connection may wait for its next request",
    limit: "idle time between requests",
    excess: "close",
  },
  /**
   * Longest a request body being read, or a response being written, may go
   * without a single byte of progress; then the connection closes.
   */
  bodyTimeoutMs: {
    flag: "body-timeout",
    group: "limits",
    kind: "duration",
    default: 30_000,
    min: 1,
    placeholder: "TIME",
    help: "Longest a request or response body may go without progress; then the connection closes",
    meaning: "longest a request or response body may go without progress",
    limit: "body without progress",
    excess: "close",
  },
  /**
   * Most connections served at once; further clients wait in the listen
   * backlog until one closes.
   */
  maxConnections: {
    flag: "max-connections",
    group: "limits",
    kind: "count",
    default: 10_000,
    min: 1,
    placeholder: "N",
    help: "Connections served at once; more wait in the backlog",
    meaning: "connections served at once; more wait in the listen backlog",
    limit: "simultaneous connections",
    excess: "new ones wait in the backlog",
  },
  /**
   * Connections the system queues for the listener while they wait to be
   * accepted (the `listen(2)` backlog; Linux caps it at `net.core.somaxconn`).
   */
  listenBacklog: {
    flag: "backlog",
    group: "limits",
    kind: "count",
    default: 4096,
    min: 1,
    max: 65535,
    placeholder: "N",
    help: "Connections the system queues while they wait to be accepted; beyond it clients " +
      "retry their connect",
    meaning: "connections the system queues until they are accepted (at most `net.core.somaxconn`)",
    limit: "connections waiting to be accepted",
    excess: "the system drops the connect; the client retries",
  },
  /** Most requests on one connection, after which it closes; 0 for no limit. */
  maxRequestsPerConnection: {
    flag: "max-requests",
    group: "limits",
    kind: "count",
    default: 0,
    min: 0,
    zero: "no limit",
    placeholder: "N",
    help: "Requests per connection before it closes",
    meaning: "requests on one connection before it closes",
    limit: "requests per connection",
    excess: "`Connection: close` on the last",
  },
  /**
   * On shutdown, how long requests in progress may take to finish before
   * their connections are closed.
   */
  shutdownTimeoutMs: {
    flag: "shutdown-timeout",
    group: "limits",
    kind: "duration",
    default: 10_000,
    min: 0,
    placeholder: "TIME",
    help: "Time requests in progress get to finish on SIGINT or SIGTERM; a second signal " +
      "stops at once",
    meaning: "on SIGINT or SIGTERM, time for requests in progress to finish",
    limit: "time to finish at shutdown",
    excess: "close",
  },
  /** How long a TLS client gets to complete its handshake. */
  handshakeTimeoutMs: {
    flag: "handshake-timeout",
    group: "limits",
    kind: "duration",
    default: 10_000,
    min: 1,
    placeholder: "TIME",
    help: "Time a TLS client gets to complete its handshake (with --cert or --acme)",
    meaning: "time a TLS client gets to complete its handshake",
    limit: "TLS handshake time",
    excess: "close",
  },
  /**
   * On shutdown, how long new connections are still accepted while the
   * health endpoint already answers 503, before accepting stops.
   */
  drainDelayMs: {
    flag: "drain-delay",
    group: "limits",
    kind: "duration",
    default: 0,
    min: 0,
    placeholder: "TIME",
    help: "On SIGINT or SIGTERM, keep accepting for TIME while --health answers 503, so a load " +
      "balancer stops sending requests first",
    meaning: "on SIGINT or SIGTERM, time to keep accepting while `--health` says 503",
  },

  /**
   * Most bytes of small files kept in memory by the hot-file cache (the
   * least recently used go first); 0 for no cache.
   */
  cacheBytes: {
    flag: "cache",
    group: "tuning",
    kind: "size",
    default: 64 * MIB,
    min: 0,
    placeholder: "SIZE",
    help: "Small files kept in memory, in all; 0 for none",
    meaning: "small files kept in memory, in all; `0` for no cache",
    limit: "memory for cached files",
    excess: "least recently used evicted",
  },
  /** Largest file the cache keeps. */
  cacheFileBytes: {
    flag: "cache-file",
    group: "tuning",
    kind: "size",
    default: 64 * KIB,
    min: 0,
    placeholder: "SIZE",
    help: "Largest file kept in memory",
    meaning: "largest file kept in memory",
    limit: "largest cached file",
    excess: "sent from disk",
  },
  /** Most larger files whose lookups and open handles are kept for the next request. */
  openFiles: {
    flag: "open-files",
    group: "tuning",
    kind: "count",
    default: 256,
    min: 0,
    placeholder: "N",
    help: "Larger files whose lookups and open handles are kept (checked again each second); " +
      "0 for none",
    meaning: "larger files kept open for the next request, checked each second; `0` for none",
    limit: "open larger files",
    excess: "least recently used closed",
  },
  /**
   * I/O events each serving worker's runtime takes per turn of its event
   * loop (`DENO_TOKIO_MAX_IO_EVENTS_PER_TICK`, set for the workers). Deno's
   * own default, 1024, lets about 128 busy connections be served turn after
   * turn while the others wait for seconds; 128 or less keeps it fair.
   */
  ioEventsPerTick: {
    flag: "io-events-per-tick",
    group: "tuning",
    kind: "count",
    default: 64,
    min: 1,
    max: 1024,
    placeholder: "N",
    help: "I/O events a serving worker takes per turn of its event loop; lower keeps service " +
      "fair under many connections",
    meaning: "I/O events a serving worker takes per turn; at most 128 keeps many connections fair",
  },
  /** Size of each reused buffer that large files are sent through. */
  fileBufferBytes: {
    flag: "file-buffer",
    group: "tuning",
    kind: "size",
    default: 1 * MIB,
    min: 4 * KIB,
    max: 64 * MIB,
    placeholder: "SIZE",
    help: "Buffer that larger files are sent through",
    meaning: "size of the reused buffers larger files are sent through",
  },
  /**
   * Most such buffers at once; a download that finds them all in use sends
   * its next chunk through a 64 KiB buffer of its own instead of waiting.
   */
  fileBuffers: {
    flag: "file-buffers",
    group: "tuning",
    kind: "count",
    default: 32,
    min: 0,
    placeholder: "N",
    help: "Most such buffers at once",
    meaning: "most such buffers at once",
    limit: "file send buffers",
    excess: "a 64 KiB buffer per chunk",
  },

  /** The content codings files and application responses may be sent in, in order of preference; empty for none. */
  compress: {
    flag: "compress",
    group: "content",
    kind: "codings",
    default: ["br", "zstd", "gzip"],
    placeholder: "LIST",
    help: 'Content codings offered, in order of preference, from br, zstd and gzip; "off" for none',
    meaning: "content codings offered, in order of preference; `off` for none",
  },
  /** Smallest body compressed, in bytes. */
  compressMinBytes: {
    flag: "compress-min",
    group: "content",
    kind: "size",
    default: 1 * KIB,
    min: 0,
    placeholder: "SIZE",
    help: "Smallest file or response body compressed",
    meaning: "smallest file or response body compressed",
  },
  /** `Cache-Control` of files whose names carry a content hash, or null for none. */
  cacheControlHashed: {
    flag: "cache-control-hashed",
    group: "content",
    kind: "field",
    default: "public, max-age=31536000, immutable",
    placeholder: "VALUE",
    help:
      'Cache-Control of files whose names carry a content hash (app-3f9a2c1b.js); "off" for none',
    meaning: "`Cache-Control` of files with a content hash in their names; `off` for none",
  },
  /** `Cache-Control` of HTML files, or null for none. */
  cacheControlHtml: {
    flag: "cache-control-html",
    group: "content",
    kind: "field",
    default: "no-cache",
    placeholder: "VALUE",
    help: 'Cache-Control of HTML files; "off" for none',
    meaning: "`Cache-Control` of HTML files; `off` for none",
  },
  /** `Cache-Control` of every other file, or null for none. */
  cacheControlOther: {
    flag: "cache-control-other",
    group: "content",
    kind: "field",
    default: DEFAULT_OTHER_CACHE_CONTROL,
    placeholder: "VALUE",
    help: 'Cache-Control of every other file; "off" for none',
    meaning: "`Cache-Control` of every other file; `off` for none",
  },
} as const satisfies Record<string, OptionSpec>;

/** The name of a row of {@linkcode OPTIONS}. */
export type OptionKey = keyof typeof OPTIONS;

/** The keys of a group's rows that hold a value (every row but the commands). */
export type GroupKey<G extends OptionGroup> = {
  [K in OptionKey]: (typeof OPTIONS)[K]["group"] extends G
    ? (typeof OPTIONS)[K]["kind"] extends "command" ? never : K
    : never;
}[OptionKey];

/**
 * The type a row's value has: a number for sizes, durations, counts and
 * ports, a string for hosts and strings, a boolean for switches, and null
 * too when the row defaults to none.
 */
export type OptionValue<R extends OptionSpec> =
  | (R["kind"] extends "size" | "duration" | "count" | "port" ? number
    : R["kind"] extends "host" | "string" ? string
    : R["kind"] extends "boolean" ? boolean
    : R["kind"] extends "codings" ? readonly Coding[]
    : R["kind"] extends "field" ? string | null
    : R["kind"] extends "choice" ? R extends { choices: readonly (infer C)[] } ? C : never
    : never)
  | (R["default"] extends null ? null : never);

/**
 * The values of a group, one field per row, named by the row's key and
 * documented by the row's doc comment: `GroupValues<"limits">` is `Limits`.
 *
 * @example
 * ```ts
 * const tuning: GroupValues<"tuning"> = optionDefaults("tuning");
 * tuning.fileBuffers; // 32
 * ```
 */
export type GroupValues<G extends OptionGroup> = {
  -readonly [K in keyof Pick<typeof OPTIONS, GroupKey<G>>]: OptionValue<(typeof OPTIONS)[K]>;
};

/** A row with its key, for walking the table in order. */
export type OptionRow = OptionSpec & { readonly key: OptionKey };

/**
 * The rows of {@linkcode OPTIONS} in order, each with its key.
 *
 * @example
 * ```ts
 * OPTION_ROWS.filter((row) => row.group === "tuning").map((row) => row.flag);
 * // ["cache", "cache-file", "file-buffer", "file-buffers"]
 * ```
 */
export const OPTION_ROWS: readonly OptionRow[] = Object.freeze(
  (Object.entries(OPTIONS) as [OptionKey, OptionSpec][]).map(([key, spec]) =>
    Object.freeze({ key, ...spec })
  ),
);

/**
 * The defaults of a group, taken from the table.
 *
 * @param group The group.
 * @returns A frozen object with each value row's default.
 *
 * @example
 * ```ts
 * optionDefaults("limits").maxBodyBytes; // 10485760
 * ```
 */
export function optionDefaults<G extends OptionGroup>(group: G): Readonly<GroupValues<G>> {
  const entries = OPTION_ROWS
    .filter((row) => row.group === group && row.kind !== "command")
    .map((row) => [row.key, row.default]);
  return Object.freeze(Object.fromEntries(entries)) as GroupValues<G>;
}

/** Sections of the help, in order: the line that heads each, and a note under it. */
export const OPTION_GROUPS = {
  serve: { title: "Options", note: "" },
  https: { title: 'HTTPS (see README "HTTPS")', note: "" },
  site: { title: 'Site (see README "Configuration")', note: "" },
  limits: {
    title: 'Limits (see README "Limits and security")',
    note: "A SIZE is bytes, or a number with K, M or G (powers of 1024); a TIME is seconds, " +
      "or a number with ms, s or m.",
  },
  tuning: { title: 'Memory (see README "Performance")', note: "" },
  content: {
    title: 'Compression and caching (see docs/http.md "Compression" and "Caching")',
    note: "",
  },
} as const satisfies Record<OptionGroup, { title: string; note: string }>;

/** Bytes per size unit (powers of 1024, as nginx reads `k` and `m`). */
export const SIZE_UNITS = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const;

/** Milliseconds per duration unit. */
export const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000 } as const;

/**
 * A size in the largest unit that divides it, as a flag takes it.
 *
 * @param bytes The size.
 * @returns `10M`, `512K`, `100`.
 *
 * @example
 * ```ts
 * formatSize(512 * 1024); // "512K"
 * ```
 */
export function formatSize(bytes: number): string {
  for (const unit of ["g", "m", "k"] as const) {
    const size = SIZE_UNITS[unit];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit.toUpperCase()}`;
  }
  return String(bytes);
}

/**
 * A duration in the unit that reads best, as a flag takes it.
 *
 * @param ms The duration in milliseconds.
 * @returns `10s`, `1m`, `500ms`.
 *
 * @example
 * ```ts
 * formatDuration(120_000); // "2m"
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A number as a flag of this kind takes it. */
function formatValue(kind: OptionKind, value: number): string {
  if (kind === "size") return formatSize(value);
  if (kind === "duration") return formatDuration(value);
  return String(value);
}

/** How a row's flag is written: `--root DIR`, `-h, --help`. */
function flagLabel(row: OptionSpec, withPlaceholder = true): string {
  const long = `--${row.flag}`;
  const named = row.short === undefined ? long : `-${row.short}, ${long}`;
  return withPlaceholder && row.placeholder !== undefined ? `${named} ${row.placeholder}` : named;
}

/** The default as the help shows it, or undefined when there is none to show. */
function helpDefault(row: OptionSpec): string | undefined {
  const value = row.default;
  if (value === null || typeof value === "boolean") return undefined;
  if (typeof value === "string") return value;
  if (typeof value !== "number") return value.join(",");
  const text = formatValue(row.kind, value);
  if (row.env !== undefined) return `$${row.env}, else ${text}`;
  if (value === 0 && row.zero !== undefined) return `${text}, ${row.zero}`;
  return text;
}

/** The range as the help shows it, when the row has a bound of its own. */
function range(row: OptionSpec, to: string): string | undefined {
  if (row.max === undefined) return undefined;
  return `${formatValue(row.kind, row.min ?? 0)}${to}${formatValue(row.kind, row.max)}`;
}

/** Joins the words of a note the help must not break. */
const NBSP = "\u00a0";

/** The width the help wraps its lines to. */
const HELP_WIDTH = 100;

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * A row's lines in the help: its flag, then its help line with the range and
 * the default in parentheses, wrapped at the description column.
 */
function helpLines(row: OptionSpec, column: number): string[] {
  const bounds = range(row, " to ");
  const fallback = helpDefault(row);
  const notes = [
    bounds === undefined ? undefined : `from ${bounds}`,
    fallback === undefined ? undefined : `default: ${fallback}`,
  ].filter((note) => note !== undefined);
  // The parenthesis is kept on one line: its spaces do not break until the text is wrapped.
  const suffix = notes.length === 0 ? "" : `(${notes.join("; ")})`.replaceAll(" ", NBSP);
  const lines = wrap(suffix === "" ? row.help : `${row.help} ${suffix}`, HELP_WIDTH - column);
  return lines.map((line, i) =>
    (i === 0 ? `  ${flagLabel(row)}`.padEnd(column) : " ".repeat(column)) +
    line.replaceAll(NBSP, " ")
  );
}

/**
 * The `--help` text: usage, then each group's rows (flag, help line,
 * default and range), then examples.
 *
 * @param name The program's name.
 * @returns The text, ending with a newline.
 *
 * @example
 * ```ts
 * renderHelp("portico").includes("--max-body SIZE"); // true
 * ```
 */
export function renderHelp(name: string): string {
  const column = 2 + Math.max(...OPTION_ROWS.map((row) => flagLabel(row).length)) + 2;
  const out = [
    `${name}: a static web server and application gateway for Deno`,
    "",
    "Usage: deno task serve [OPTIONS]",
    `       ${name} [OPTIONS]          (compiled binary)`,
  ];
  for (const [group, { title, note }] of Object.entries(OPTION_GROUPS)) {
    out.push("", `${title}:`);
    if (note !== "") out.push(...wrap(note, HELP_WIDTH - 2).map((line) => `  ${line}`));
    for (const row of OPTION_ROWS.filter((row) => row.group === group)) {
      out.push(...helpLines(row, column));
    }
  }
  const root = OPTIONS.root.default;
  const port = OPTIONS.port.default;
  out.push(
    "",
    "Examples:",
    `  deno task serve                                 serve ./${root} on port ${port}`,
    "  deno task serve --root ./site --port 8080       serve another folder on another port",
    "  deno task serve --host 127.0.0.1 --port 0       local only, on a free port",
    "  deno task serve --host :: --port 8080           every IPv6 (and, on most systems, IPv4) address",
    "  PORT=3000 deno task serve --quiet               port from the environment, no access log",
    "  deno task serve --root www --app app.ts         files from ./www, everything else from app.ts",
  );
  return out.join("\n") + "\n";
}

/** A markdown table whose columns are padded as `deno fmt` pads them. */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, i) =>
    Math.max(3, cell.length, ...rows.map((row) => row[i].length))
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The default as the README's flag table shows it. */
function readmeDefault(row: OptionSpec): string {
  const value = row.default;
  if (row.kind === "command") return "";
  if (value === null) return "none";
  if (typeof value === "boolean") return value ? "on" : "off";
  if (typeof value === "string") return `\`${value}\``;
  if (typeof value !== "number") return `\`${value.join(",")}\``;
  const text = `\`${formatValue(row.kind, value)}\``;
  if (row.env !== undefined) return `\`$${row.env}\`, else ${text}`;
  if (value === 0 && row.zero !== undefined) return `${text} (${row.zero})`;
  return text;
}

/**
 * The README's "Command line" table: flag, default and meaning of every
 * row, in order.
 *
 * @returns The markdown table, without a final newline.
 *
 * @example
 * ```ts
 * renderFlagTable().split("\n")[0]; // "| flag  ...  | default ... | meaning ... |"
 * ```
 */
export function renderFlagTable(): string {
  return markdownTable(
    ["flag", "default", "meaning"],
    OPTION_ROWS.map((row) => {
      const bounds = range(row, "–");
      return [
        `\`${flagLabel(row)}\``,
        readmeDefault(row),
        bounds === undefined ? row.meaning : `${row.meaning} (${bounds})`,
      ];
    }),
  );
}

/** A size as the README's limits table shows it: `8 KiB`, `10 MiB`. */
function describeSize(bytes: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} B`;
}

/** A row's default as the README's limits table shows it. */
function describeDefault(row: OptionSpec): string {
  const value = row.default as number;
  if (value === 0 && row.zero !== undefined) return row.zero;
  if (row.kind === "size") return describeSize(value);
  if (row.kind === "duration") return value % 1000 === 0 ? `${value / 1000} s` : `${value} ms`;
  return String(value);
}

/** A limit the server keeps that is not an option, for the README's limits table. */
export interface FixedLimit {
  /** The row of {@linkcode OPTIONS} it follows in the table. */
  readonly after: OptionKey;
  /** Its name in the table. */
  readonly limit: string;
  /** Its size in bytes. */
  readonly bytes: number;
  /** What happens beyond it. */
  readonly excess: string;
}

/**
 * The README's "Limits and security" table: every row that names a `limit`,
 * with its default, flag and what happens beyond it, and the fixed limits
 * (which have no flag) after the rows they name.
 *
 * @param fixed Limits that are not options.
 * @returns The markdown table, without a final newline.
 *
 * @example
 * ```ts
 * renderLimitsTable([
 *   { after: "maxDrainBytes", limit: "chunk-size line", bytes: 4096, excess: "400 and close" },
 * ]);
 * ```
 */
export function renderLimitsTable(fixed: readonly FixedLimit[] = []): string {
  const rows: string[][] = [];
  for (const row of OPTION_ROWS) {
    if (row.limit !== undefined) {
      rows.push([
        row.limit,
        describeDefault(row),
        `\`${flagLabel(row, false)}\``,
        row.excess ?? "",
      ]);
    }
    for (const extra of fixed.filter((extra) => extra.after === row.key)) {
      rows.push([extra.limit, describeSize(extra.bytes), "", extra.excess]);
    }
  }
  return markdownTable(["limit", "default", "flag", "on excess"], rows);
}
