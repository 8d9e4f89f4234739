/**
 * Writing network addresses for people and for URLs.
 *
 * @module
 */

/**
 * `host:port` for an address, with brackets around IPv6.
 *
 * @param addr The address.
 * @returns The authority, as a URL writes it.
 *
 * @example
 * ```ts
 * authority({ transport: "tcp", hostname: "::1", port: 8000 }); // "[::1]:8000"
 * ```
 */
export function authority(addr: Deno.NetAddr): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return `${host}:${addr.port}`;
}
