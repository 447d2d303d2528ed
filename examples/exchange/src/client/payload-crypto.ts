import { decodeBase64Url, encodeBase64Url } from "@agentauth/core";
import { ExchangeError } from "../errors.js";

// AES-256-GCM with WebCrypto (Node >= 20 and browsers). The sealed form is
// `v1.<96-bit IV>.<ciphertext and 128-bit tag>`, base64url; the namespace is additional data, so
// a sealed payload moved to another namespace does not open.
const VERSION = "v1";
const IV_BYTES = 12;
const KEY_BYTES = 32;

/** A new random 256-bit exchange key, base64url: give it to the recipient out of band. */
export function createExchangeKey(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
}

export interface SealPayloadOptions {
  /** The exchange key from {@link createExchangeKey}. */
  readonly key: string;
  /** The namespace it will be published in. */
  readonly namespace: string;
  readonly plaintext: Uint8Array | string;
}

/** Encrypts `plaintext` for the exchange; only holders of `key` can open it. */
export async function sealPayload(options: SealPayloadOptions): Promise<string> {
  const key = await importKey(options.key, "encrypt");
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const data =
    typeof options.plaintext === "string"
      ? new TextEncoder().encode(options.plaintext)
      : Uint8Array.from(options.plaintext);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: additionalData(options.namespace) },
    key,
    data,
  );
  return `${VERSION}.${encodeBase64Url(iv)}.${encodeBase64Url(new Uint8Array(sealed))}`;
}

export interface OpenPayloadOptions {
  readonly key: string;
  readonly namespace: string;
  readonly sealed: string;
}

/**
 * Decrypts what {@link sealPayload} made; `ERR_DECRYPTION_FAILED` when the key, the namespace
 * or a single byte differs.
 */
export async function openPayload(options: OpenPayloadOptions): Promise<Uint8Array> {
  const [version, ivText, bodyText, ...rest] = options.sealed.split(".");
  const iv = ivText === undefined ? undefined : decodeBase64Url(ivText);
  const body = bodyText === undefined ? undefined : decodeBase64Url(bodyText);
  if (version !== VERSION || rest.length > 0 || iv?.length !== IV_BYTES || body === undefined) {
    throw new ExchangeError("ERR_DECRYPTION_FAILED", "Not a sealed exchange payload");
  }
  const key = await importKey(options.key, "decrypt");
  try {
    const opened = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: Uint8Array.from(iv),
        additionalData: additionalData(options.namespace),
      },
      key,
      Uint8Array.from(body),
    );
    return new Uint8Array(opened);
  } catch (error) {
    throw new ExchangeError(
      "ERR_DECRYPTION_FAILED",
      "The payload does not open with this key in this namespace (wrong key, or tampered with)",
      { cause: error },
    );
  }
}

/** {@link openPayload} as UTF-8 text. */
export async function openPayloadText(options: OpenPayloadOptions): Promise<string> {
  return new TextDecoder("utf-8", { fatal: true }).decode(await openPayload(options));
}

function additionalData(namespace: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`agentauth-exchange/${VERSION}/${namespace}`);
}

async function importKey(key: string, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  const raw = decodeBase64Url(key);
  if (raw?.length !== KEY_BYTES) {
    throw new TypeError("The exchange key must be 32 bytes, base64url (createExchangeKey)");
  }
  return crypto.subtle.importKey("raw", Uint8Array.from(raw), "AES-GCM", false, [usage]);
}
