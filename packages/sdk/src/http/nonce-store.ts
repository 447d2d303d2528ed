// RFC 9449 §8.1: nonce = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E.
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,512}$/;
const MAX_ORIGINS = 256;

/**
 * The latest `DPoP-Nonce` each origin sent (RFC 9449 §8, §9): every answer may carry a new one,
 * and the next proof for that origin uses it. Bounded: the least recently updated origin is
 * forgotten first.
 */
export class NonceStore {
  private readonly nonces = new Map<string, string>();

  /** The nonce to put in a proof for `url`, if its origin gave one. */
  get(url: string): string | undefined {
    return this.nonces.get(new URL(url).origin);
  }

  /** Records the `DPoP-Nonce` header of an answer from `url`; ignores a malformed one. */
  remember(url: string, nonce: string | null): void {
    if (nonce === null || !NONCE.test(nonce)) return;
    const origin = new URL(url).origin;
    this.nonces.delete(origin);
    this.nonces.set(origin, nonce);
    if (this.nonces.size > MAX_ORIGINS) {
      const oldest = this.nonces.keys().next().value as string;
      this.nonces.delete(oldest);
    }
  }
}
