/**
 * The paths development mode reserves on every site it serves. They begin
 * with a dot segment, which the static layer never serves by default, so no
 * site file answers them; in development mode they are answered before any
 * file or application is asked, and without `--dev` they are not special.
 *
 * @module
 */

/** The live-reload script every full HTML document loads in development mode. */
export const LIVE_SCRIPT_PATH = "/.portico/live.js";

/** The server-sent-events stream the live-reload script listens to. */
export const LIVE_EVENTS_PATH = "/.portico/events";

/** The name of the server-sent event that announces a change (see `LiveChange`). */
export const LIVE_CHANGE_EVENT = "change";
