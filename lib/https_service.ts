/**
 * HTTPS as the command line runs it, in the main thread: the certificate
 * read from files (and read again when they change or on SIGHUP) or
 * obtained over ACME (and renewed on schedule), the plain-HTTP listener
 * that redirects to HTTPS and answers ACME challenges, and the HSTS field.
 * The workers are handed certificates; they never read the files.
 *
 * @module
 */

import { readCertificate } from "./acme/certificate.ts";
import {
  acmeCertificate,
  type AcmePlan,
  acmePlan,
  certificateWarnings,
  hstsValue,
  type HttpsOptions,
  readCertificatePair,
  redirectHandler,
  redirectPort,
  renewAcme,
} from "./https.ts";
import { explainListenError } from "./listen_error.ts";
import type { Logger } from "./log.ts";
import { listen, type Server } from "./server.ts";
import type { WorkerPool } from "./supervisor.ts";
import type { TlsCertificate } from "./tls.ts";

/** Where the plain listener listens by default with ACME: HTTP-01 validates on port 80. */
const ACME_HTTP_PORT = 80;

/** The HTTPS side of a running server. */
export class HttpsService {
  /** Fields every HTTPS response carries (`Strict-Transport-Security`). */
  readonly fields: readonly (readonly [string, string])[];
  readonly #options: HttpsOptions;
  readonly #acme: AcmePlan | null;
  readonly #hostname: string;
  readonly #logger: Logger;
  #tls: TlsCertificate | null = null;
  #warnings: readonly string[] = [];
  #plain: Server | null = null;
  #httpsPort = 0;
  #stopRenewing: () => void = () => {};

  private constructor(
    options: HttpsOptions,
    hostname: string,
    logger: Logger,
    acme: AcmePlan | null,
  ) {
    this.#options = options;
    this.#hostname = hostname;
    this.#logger = logger;
    this.#acme = acme;
    const hsts = hstsValue(options);
    this.fields = hsts === null ? [] : [["strict-transport-security", hsts]];
  }

  /**
   * Reads the certificate files, or obtains the ACME certificate (with the
   * plain listener already answering its challenges).
   *
   * @param options The HTTPS options.
   * @param hostname The address the server listens on (the plain listener's too).
   * @param env Reads the variables the default ACME folder depends on.
   * @param logger Where ACME's steps and the listener's faults go.
   * @returns The service, before the workers start.
   * @throws {UserError} For files that cannot be used, a port that cannot be bound, an ACME
   * refusal.
   */
  static async start(
    options: HttpsOptions,
    hostname: string,
    env: { get(name: string): string | undefined },
    logger: Logger,
  ): Promise<HttpsService> {
    const acme = await acmePlan(options, env);
    const service = new HttpsService(options, hostname, logger, acme);
    if (options.cert !== null && options.key !== null) {
      service.#tls = await readCertificatePair(options.cert, options.key);
    } else if (acme !== null) {
      // The challenge is answered on the plain port, which must listen before the order.
      service.#plain = service.#listenPlain(redirectPort(options) ?? ACME_HTTP_PORT);
      try {
        const obtained = await acmeCertificate(acme, (line) => console.log(line));
        service.#tls = { cert: obtained.certPem, key: obtained.keyPem };
      } catch (error) {
        await service.close();
        throw error;
      }
    }
    if (service.#tls !== null) {
      service.#warnings = await certificateWarnings(service.#tls, Date.now());
    }
    return service;
  }

  /** The certificate the workers start with, or null for plain HTTP. */
  get tls(): TlsCertificate | null {
    return this.#tls;
  }

  /** Warnings about the certificate, said once at start-up. */
  get warnings(): readonly string[] {
    return this.#warnings;
  }

  /** Whether the server speaks HTTPS. */
  get secure(): boolean {
    return this.tls !== null;
  }

  /** The plain listener, or null. */
  get plain(): Server | null {
    return this.#plain;
  }

  /**
   * Connects the service to the started workers: the plain listener (for
   * `--redirect-http` without ACME) now that the HTTPS port is known, and
   * the ACME renewal schedule.
   *
   * @param pool The workers.
   */
  attach(pool: WorkerPool): void {
    this.#httpsPort = pool.addr.port;
    const plainPort = redirectPort(this.#options);
    if (this.#plain === null && plainPort !== null) this.#plain = this.#listenPlain(plainPort);
    if (this.#acme !== null && this.tls !== null) {
      const acme = this.#acme;
      void this.#scheduleRenewal(acme, pool);
    }
  }

  /**
   * The certificate files read again (for SIGHUP or a change on disk), or
   * null when the certificate does not come from files.
   *
   * @returns The new pair.
   * @throws {UserError} When the new files cannot be used.
   */
  async reread(): Promise<TlsCertificate | null> {
    const { cert, key } = this.#options;
    if (cert === null || key === null) return null;
    return await readCertificatePair(cert, key);
  }

  /** The files to watch for changes, when the certificate comes from files. */
  get files(): readonly string[] {
    const { cert, key } = this.#options;
    return cert === null || key === null ? [] : [cert, key];
  }

  /** Stops renewing and closes the plain listener. */
  async close(): Promise<void> {
    this.#stopRenewing();
    await this.#plain?.shutdown();
  }

  /** Starts the plain listener: ACME challenges, and 308 to HTTPS for the rest. */
  #listenPlain(port: number): Server {
    const handler = redirectHandler(() => this.#httpsPort, this.#acme?.challenges ?? null);
    try {
      return listen({ hostname: this.#hostname, port, handler, logger: this.#logger });
    } catch (error) {
      throw explainListenError(error, this.#hostname, port);
    }
  }

  /** Renews the ACME certificate on schedule, handing each new one to the workers. */
  async #scheduleRenewal(acme: AcmePlan, pool: WorkerPool): Promise<void> {
    const tls = this.tls!;
    const info = await readCertificate(tls.cert);
    const first = { ...info, certPem: tls.cert, keyPem: tls.key, source: "stored" as const };
    this.#stopRenewing = renewAcme(
      acme,
      first,
      (pair) => pool.setCertificate(pair),
      (line) => console.log(line),
    );
  }
}
