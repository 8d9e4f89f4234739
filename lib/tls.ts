/**
 * TLS for the listener: certificates as PEM text (read by the main thread,
 * handed to the sandboxed workers), listeners that can be replaced to
 * change the certificate, and the handshake with its own deadline, since
 * Deno's has none: a client that opens a socket and never finishes its
 * hello is closed instead of holding a connection forever.
 *
 * Deno's `listenTls` takes one certificate per listener and cannot change
 * it, and its server side cannot pick a certificate by the name the client
 * asks for (SNI) through a public API. So a new certificate means a new
 * listener on the same port (`reusePort`) while the old one still accepts,
 * then the old one closed: connections it accepted go on undisturbed.
 *
 * @module
 */

import { closeQuietly } from "./http/connection.ts";
import type { Clock } from "./watchdog.ts";

/** A certificate chain and its private key, as PEM text. */
export interface TlsCertificate {
  /** The certificate chain, leaf first. */
  readonly cert: string;
  /** The private key (PKCS#8, PKCS#1 RSA or SEC1 EC). */
  readonly key: string;
}

/** The protocols offered through ALPN: HTTP/1.1 only, for now. */
export const ALPN_PROTOCOLS: readonly string[] = Object.freeze(["http/1.1"]);

/** What a listener is opened with. */
export interface ListenerOptions {
  readonly hostname: string;
  readonly port: number;
  readonly backlog: number;
  /** Share the port with other listeners (other workers, or a replacement). */
  readonly reusePort: boolean;
  /** The certificate, or null for plain TCP. */
  readonly tls: TlsCertificate | null;
}

/**
 * Opens a plain or TLS listener.
 *
 * @param options The address, the backlog, port sharing and the certificate.
 * @returns The listener.
 * @throws The system's error when the address cannot be bound, or Deno's when the certificate
 * or key cannot be used (`InvalidData`, a key that does not match).
 *
 * @example
 * ```ts
 * const listener = openListener({ hostname: "127.0.0.1", port: 0, backlog: 511, reusePort: false, tls: null });
 * listener.close();
 * ```
 */
export function openListener(options: ListenerOptions): Deno.Listener {
  const common = {
    hostname: options.hostname,
    port: options.port,
    tcpBacklog: options.backlog,
    ...(options.reusePort ? { reusePort: true } : {}),
  };
  if (options.tls === null) return Deno.listen(common);
  return Deno.listenTls({
    ...common,
    cert: options.tls.cert,
    key: options.tls.key,
    alpnProtocols: [...ALPN_PROTOCOLS],
  });
}

/**
 * Whether port sharing is available (Deno's `--unstable-net`); without it,
 * asking for it ends the process, so a certificate cannot be replaced.
 *
 * @returns True when `reusePort` may be asked for.
 */
export function canSharePorts(): boolean {
  return typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram === "function";
}

/**
 * Completes a TLS connection's handshake within `timeoutMs`; a plain
 * connection is ready at once. A handshake that fails (plain HTTP sent to
 * the TLS port, an unknown protocol, a client that gives up) or takes too
 * long closes the connection.
 *
 * @param conn The accepted connection.
 * @param timeoutMs The deadline.
 * @param clock Times the deadline.
 * @returns Null when the connection is ready, else why it was closed.
 */
export async function completeHandshake(
  conn: Deno.Conn,
  timeoutMs: number,
  clock: Clock,
): Promise<string | null> {
  const tls = conn as Partial<Deno.TlsConn>;
  if (typeof tls.handshake !== "function") return null;
  let timedOut = false;
  const timer = clock.setTimer(() => {
    timedOut = true;
    closeQuietly(conn);
  }, timeoutMs);
  try {
    await tls.handshake.call(conn);
    return null;
  } catch (error) {
    closeQuietly(conn);
    if (timedOut) return "timed out";
    return error instanceof Error ? error.message.split("\n")[0] : String(error);
  } finally {
    clock.clearTimer(timer);
  }
}
