/**
 * A connection relayed by a trusted proxy with the PROXY protocol: the
 * header is read first (within the head timeout, at most its size bound),
 * the client it names becomes the connection's remote address, and the
 * bytes read after it are handed to the HTTP reader before the socket's.
 * A trusted peer that sends no valid header is closed; an untrusted one is
 * served as HTTP, where a PROXY line is a malformed request (400).
 *
 * @module
 */

import type { CidrList } from "../net/cidr.ts";
import type { Connection } from "./connection.ts";
import { type ProxyHeader, readProxyHeader } from "./proxy_protocol.ts";

/**
 * The connection as the HTTP loop should see it: the socket itself when
 * its peer is not a trusted proxy, else the socket behind the header.
 *
 * @param conn The accepted socket.
 * @param trusted The proxies whose headers count.
 * @param deadline Aborted when the header has taken too long (or the server stops).
 * @returns The connection to serve.
 * @throws {ProxyHeaderError} When a trusted peer sends no valid header in time.
 *
 * @example
 * ```ts
 * const served = await proxiedConnection(conn, parseCidrList("127.0.0.1", "--proxy-protocol"),
 *   AbortSignal.timeout(10_000));
 * ```
 */
export async function proxiedConnection(
  conn: Deno.Conn,
  trusted: CidrList,
  deadline: AbortSignal,
): Promise<Connection> {
  const peer = conn.remoteAddr as Deno.NetAddr;
  if (!trusted.contains(peer.hostname)) return conn;
  const { header, rest } = await readProxyHeader((p) => conn.read(p), deadline);
  return relayed(conn, header, rest);
}

/** The socket with the header's client as its remote address and `rest` read first. */
function relayed(conn: Deno.Conn, header: ProxyHeader, rest: Uint8Array): Connection {
  const remoteAddr: Deno.NetAddr = header.source === null
    ? conn.remoteAddr as Deno.NetAddr
    : { transport: "tcp", hostname: header.source.hostname, port: header.source.port };
  let pending = rest;
  return {
    remoteAddr,
    localAddr: conn.localAddr,
    read: (p) => {
      if (pending.length === 0) return conn.read(p);
      const n = Math.min(p.length, pending.length);
      p.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return Promise.resolve(n);
    },
    write: (p) => conn.write(p),
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
  };
}
