/**
 * Option types and their defaults, derived from the one table of options
 * (`lib/options.ts`): every limit the server enforces is a row there, with
 * its flag and default, so the CLI, the library and the documentation agree.
 *
 * @module
 */

import denoJson from "../deno.json" with { type: "json" };
import { type GroupValues, optionDefaults, OPTIONS } from "./options.ts";

/**
 * Every bound the server puts on what a client may send or hold, and on how
 * long it waits: one field per `limits` row of `OPTIONS` (sizes in bytes,
 * times in milliseconds), each documented there with its flag and default
 * (README "Limits and security").
 */
export type Limits = GroupValues<"limits">;

/**
 * How the server spends its own memory on speed: the hot-file cache and the
 * buffers large files are sent through, one field per `tuning` row of
 * `OPTIONS`. Unlike {@linkcode Limits}, nothing here bounds what a client may
 * do.
 */
export type Tuning = GroupValues<"tuning">;

/**
 * How files and application responses are encoded, and how long clients
 * may keep files: one field per `content` row of `OPTIONS` (docs/http.md
 * "Compression" and "Caching").
 */
export type Content = GroupValues<"content">;

/** The default content options. */
export const DEFAULT_CONTENT: Readonly<Content> = optionDefaults("content");

/** The default limits (documented in README "Limits and security"). */
export const DEFAULT_LIMITS: Readonly<Limits> = optionDefaults("limits");

/** The default tuning (documented in README "Performance"). */
export const DEFAULT_TUNING: Readonly<Tuning> = optionDefaults("tuning");

/** The product's name, sent in the `Server` header and printed by `--version`. */
export const SERVER_NAME = "portico";

/** The product's version, from `deno.json`. */
export const VERSION: string = denoJson.version;

/** Default port when neither `--port` nor `PORT` is given. */
export const DEFAULT_PORT: number = OPTIONS.port.default;

/** Default listening address: every IPv4 interface. */
export const DEFAULT_HOST: string = OPTIONS.hostname.default;

/** Default document root, resolved against the working directory. */
export const DEFAULT_ROOT: string = OPTIONS.root.default;

/**
 * The variable Deno reads when it builds a runtime, for the most I/O events
 * the runtime takes in one turn of its event loop (`runtime/tokio_util.rs`;
 * Deno's default is 1024). With more ready sockets than about 128 in every
 * turn, the same ones are served again and again while the others wait, so
 * the serving workers' runtimes are built with a smaller batch.
 */
export const IO_EVENTS_VARIABLE = "DENO_TOKIO_MAX_IO_EVENTS_PER_TICK";
