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

/**
 * Splits and decodes a compact JWS whose header and payload are JSON objects. Rejects, with
 * `code`, anything else: wrong part count, non-canonical base64url, invalid UTF-8 or JSON, a
 * `crit` header (no extensions are understood here, RFC 7515 §4.1.11), or more than `maxLength`
 * characters.
 */
export function decodeCompactJws(jws: string, code: ErrorCode, maxLength: number): DecodedJws {
  if (jws.length > maxLength) throw new AgentAuthError(code, `The JWT is longer than ${maxLength} characters`);
  const firstDot = jws.indexOf(".");
  const secondDot = jws.indexOf(".", firstDot + 1);
  if (firstDot < 0 || secondDot < 0 || jws.indexOf(".", secondDot + 1) >= 0) {
    throw new AgentAuthError(code, "The JWT must have exactly three dot-separated parts");
  }
  const header = decodeJsonObject(jws.slice(0, firstDot), code, "header");
  const payload = decodeJsonObject(jws.slice(firstDot + 1, secondDot), code, "payload");
  if ("crit" in header) throw new AgentAuthError(code, 'The JWT header "crit" is not supported');
  const signature = decodeBase64Url(jws.slice(secondDot + 1));
  if (signature === undefined || signature.length === 0) {
    throw new AgentAuthError(code, "The JWT signature is not valid base64url");
  }
  return { header, payload, signingInput: encodeUtf8(jws.slice(0, secondDot)), signature };
}

function decodeJsonObject(part: string, code: ErrorCode, name: string): Record<string, unknown> {
  const bytes = decodeBase64Url(part);
  const text = bytes === undefined ? undefined : decodeUtf8(bytes);
  if (text === undefined) throw new AgentAuthError(code, `The JWT ${name} is not valid base64url UTF-8`);
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
