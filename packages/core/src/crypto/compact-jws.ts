import { decodeBase64Url, decodeUtf8, encodeBase64Url, encodeUtf8 } from "../encoding/base64url.js";
import { AgentAuthError, type ErrorCode } from "../errors.js";
import type { JwsSigner } from "./signer.js";

/** A JWS in compact serialization, split and decoded but NOT yet verified. */
export interface DecodedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** ASCII(BASE64URL(header) '.' BASE64URL(payload)), the bytes the signature covers. */
  readonly signingInput: Uint8Array;
  readonly signature: Uint8Array;
}

/** The three segments of a compact JWS, not yet decoded. */
export interface JwsSegments {
  readonly header: string;
  readonly payload: string;
  readonly signature: string;
  /** BASE64URL(header) '.' BASE64URL(payload): the text the signature covers. */
  readonly signingInput: string;
}

/** Splits a compact JWS of at most `maxLength` characters into its three segments. */
export function splitCompactJws(jws: string, code: ErrorCode, maxLength: number): JwsSegments {
  if (jws.length > maxLength)
    throw new AgentAuthError(code, `The JWT is longer than ${maxLength} characters`);
  const firstDot = jws.indexOf(".");
  const secondDot = jws.indexOf(".", firstDot + 1);
  if (firstDot < 0 || secondDot < 0 || jws.indexOf(".", secondDot + 1) >= 0) {
    throw new AgentAuthError(code, "The JWT must have exactly three dot-separated parts");
  }
  return {
    header: jws.slice(0, firstDot),
    payload: jws.slice(firstDot + 1, secondDot),
    signature: jws.slice(secondDot + 1),
    signingInput: jws.slice(0, secondDot),
  };
}

/**
 * Decodes a JWS header segment. A `crit` header is refused: no extensions are understood here
 * (RFC 7515 §4.1.11).
 */
export function decodeJwsHeader(
  segment: string,
  code: ErrorCode,
): Readonly<Record<string, unknown>> {
  const header = decodeJsonObject(segment, code, "header");
  if ("crit" in header) throw new AgentAuthError(code, 'The JWT header "crit" is not supported');
  return header;
}

/** Decodes a JWS payload segment that must hold a JSON object (JWT claims). */
export function decodeJwsPayload(
  segment: string,
  code: ErrorCode,
): Readonly<Record<string, unknown>> {
  return decodeJsonObject(segment, code, "payload");
}

/** Decodes a JWS signature segment. */
export function decodeJwsSignature(segment: string, code: ErrorCode): Uint8Array {
  const signature = decodeBase64Url(segment);
  if (signature === undefined || signature.length === 0) {
    throw new AgentAuthError(code, "The JWT signature is not valid base64url");
  }
  return signature;
}

/**
 * Splits and decodes a compact JWS whose header and payload are JSON objects. Rejects, with
 * `code`, anything else: wrong part count, non-canonical base64url, invalid UTF-8 or JSON, a
 * `crit` header, or more than `maxLength` characters.
 */
export function decodeCompactJws(jws: string, code: ErrorCode, maxLength: number): DecodedJws {
  const segments = splitCompactJws(jws, code, maxLength);
  return {
    header: decodeJwsHeader(segments.header, code),
    payload: decodeJwsPayload(segments.payload, code),
    signingInput: encodeUtf8(segments.signingInput),
    signature: decodeJwsSignature(segments.signature, code),
  };
}

function decodeJsonObject(part: string, code: ErrorCode, name: string): Record<string, unknown> {
  const bytes = decodeBase64Url(part);
  const text = bytes === undefined ? undefined : decodeUtf8(bytes);
  if (text === undefined)
    throw new AgentAuthError(code, `The JWT ${name} is not valid base64url UTF-8`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new AgentAuthError(code, `The JWT ${name} is not valid JSON`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AgentAuthError(code, `The JWT ${name} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Produces a compact JWS. `header.alg` is taken from the signer. */
export async function signCompactJws(
  header: Readonly<Record<string, unknown>>,
  payload: Readonly<Record<string, unknown>>,
  signer: JwsSigner,
): Promise<string> {
  const encodedHeader = encodeBase64Url(encodeUtf8(JSON.stringify({ ...header, alg: signer.alg })));
  const signingInput = `${encodedHeader}.${encodeBase64Url(encodeUtf8(JSON.stringify(payload)))}`;
  const signature = await signer.sign(encodeUtf8(signingInput));
  return `${signingInput}.${encodeBase64Url(signature)}`;
}
