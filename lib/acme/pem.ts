/**
 * PEM text (RFC 7468): DER bytes in base64 between `-----BEGIN label-----`
 * and `-----END label-----` lines, the form certificates and keys are stored
 * in and handed to `Deno.listenTls`.
 *
 * @module
 */

/** One block of a PEM document. */
export interface PemBlock {
  /** The label, such as `CERTIFICATE` or `PRIVATE KEY`. */
  readonly label: string;
  /** The DER bytes. */
  readonly der: Uint8Array<ArrayBuffer>;
}

/** RFC 7468 §2: generators wrap the base64 text at 64 characters. */
const LINE_LENGTH = 64;

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*?)-----END \1-----/g;

/**
 * Encodes DER bytes as one PEM block.
 *
 * @param label The label, such as `CERTIFICATE`.
 * @param der The bytes.
 * @returns The block, ending with a newline.
 *
 * @example
 * ```ts
 * encodePem("TEST", new Uint8Array([1, 2, 3])); // "-----BEGIN TEST-----\nAQID\n-----END TEST-----\n"
 * ```
 */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = encodeBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += LINE_LENGTH) lines.push(base64.slice(i, i + LINE_LENGTH));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Decodes every PEM block of a document, in order; text between blocks is
 * ignored.
 *
 * @param text The document.
 * @returns The blocks.
 * @throws {SyntaxError} When the document holds no block.
 *
 * @example
 * ```ts
 * decodePem("-----BEGIN TEST-----\nAQID\n-----END TEST-----\n")[0].der; // Uint8Array [1, 2, 3]
 * ```
 */
export function decodePem(text: string): PemBlock[] {
  const blocks = [...text.matchAll(BLOCK)].map((match) => ({
    label: match[1],
    der: decodeBase64(match[2].replace(/\s+/g, "")),
  }));
  if (blocks.length === 0) throw new SyntaxError("Not a PEM document: no BEGIN/END block");
  return blocks;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
