/**
 * The command-line entry point: `deno task serve` and the compiled binary.
 *
 * @module
 */

import { run } from "./lib/startup.ts";

if (import.meta.main) Deno.exit(await run(Deno.args));
