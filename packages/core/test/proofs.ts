import type { JwsSigner } from "../src/crypto/signer.js";
import type { MarkDpopJtiUsed } from "../src/dpop/verify-dpop-proof.js";
import { encodeBase64Url, encodeUtf8 } from "../src/encoding/base64url.js";

/** Signs an arbitrary header and payload, so tests can build proofs with exactly one defect. */
export async function forgeJws(
  header: object,
  payload: object,
  signer: JwsSigner,
): Promise<string> {
  const signingInput = `${encodeBase64Url(encodeUtf8(JSON.stringify(header)))}.${encodeBase64Url(encodeUtf8(JSON.stringify(payload)))}`;
  return `${signingInput}.${encodeBase64Url(await signer.sign(encodeUtf8(signingInput)))}`;
}

/** An in-memory replay store with the semantics of Redis `SET NX`. */
export function createMemoryJtiStore(): MarkDpopJtiUsed & { readonly seen: Set<string> } {
  const seen = new Set<string>();
  const mark = async (jti: string, { jkt }: { jkt: string }) => {
    const key = `${jkt}:${jti}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  return Object.assign(mark, { seen });
}
