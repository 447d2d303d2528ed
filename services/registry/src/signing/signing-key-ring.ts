import { type JsonWebKeySet, MAX_ACCESS_TOKEN_LIFETIME_SECONDS } from "@agentauth/core";
import type { JwkSigner } from "./jwk-signer.js";
import type { SigningKeyStore } from "./signing-key-store.js";

/**
 * How long a retired key stays in the JWKS: the longest token lifetime, plus a minute for clock
 * skew, verifiers' cached key sets, and replicas that keep signing until their next
 * {@link SigningKeyRing.activate} call.
 */
export const SIGNING_KEY_RETENTION_SECONDS = MAX_ACCESS_TOKEN_LIFETIME_SECONDS + 60;

export interface CreateSigningKeyRingOptions {
  /** This process's signer (a key file or a KMS key). */
  signer: JwkSigner;
  /**
   * Loads this process's signer again (the key file, which `rotate-signing-key` may have
   * replaced); called by every {@link SigningKeyRing.activate}. Without it the key never changes.
   */
  reloadSigner?: () => Promise<JwkSigner>;
  store: SigningKeyStore;
  now: () => Date;
  /** Default {@link SIGNING_KEY_RETENTION_SECONDS}; never less than the longest token lifetime. */
  retentionSeconds?: number;
}

/** The registry's token keys: the signer in use, and the JWKS that verifies its tokens. */
export interface SigningKeyRing {
  /**
   * Signs with this process's key; refuses until {@link activate} has published it. Its `kid`
   * and `publicJwk` follow the key in use, which changes only when `activate` publishes a
   * reloaded one.
   */
  readonly signer: JwkSigner;
  /**
   * Publishes this process's key and retires every other key still in service. Idempotent:
   * call it before serving, and again every 30 seconds or so where replicas may briefly run
   * different keys (a rolling rotation). Each call puts this key back in service if another
   * replica retired it, so a key leaves the JWKS only `retentionSeconds` after the last
   * replica signing with it stopped calling — never while tokens it signed are still valid.
   * With `reloadSigner`, each call loads the signer first, and signing switches to a new key
   * only once it is published: a rotated key file takes effect at the next call.
   */
  activate(): Promise<void>;
  /** The key in service and the retired keys whose tokens may still be valid, each with `kid`, `alg` and `use: "sig"`. */
  jwks(): Promise<JsonWebKeySet>;
}

/**
 * Key rotation is starting with a new signer (a new key file, a new KMS key id), or a running
 * ring reloading a replaced key file: {@link SigningKeyRing.activate} retires the old key, which
 * stays in the JWKS for `retentionSeconds`, until every token it signed has expired.
 *
 * @example
 * const ring = createSigningKeyRing({ signer, store: createPgSigningKeyStore(db), now: () => clock.now() });
 * await ring.activate();
 */
export function createSigningKeyRing(options: CreateSigningKeyRingOptions): SigningKeyRing {
  const { store, now, reloadSigner } = options;
  const retentionSeconds = options.retentionSeconds ?? SIGNING_KEY_RETENTION_SECONDS;
  if (
    !Number.isSafeInteger(retentionSeconds) ||
    retentionSeconds < MAX_ACCESS_TOKEN_LIFETIME_SECONDS
  ) {
    throw new TypeError(
      `retentionSeconds must be an integer of at least ${MAX_ACCESS_TOKEN_LIFETIME_SECONDS}, the longest token lifetime`,
    );
  }
  let current = options.signer;
  let active = false;

  return {
    signer: Object.freeze({
      alg: current.alg,
      get kid() {
        return current.kid;
      },
      get publicJwk() {
        return current.publicJwk;
      },
      // Token signing reads `kid` and calls `sign` in the same turn, so both name one key.
      async sign(data: Uint8Array): Promise<Uint8Array> {
        // A token whose key no replica publishes could never be verified.
        if (!active) throw new TypeError("Activate the signing key ring before signing tokens");
        return current.sign(data);
      },
    }),

    async activate() {
      const signer = reloadSigner === undefined ? current : await reloadSigner();
      const at = now();
      await store.recordKey({
        kid: signer.kid,
        alg: signer.alg,
        publicJwk: signer.publicJwk,
        now: at,
      });
      await store.retireOthers(signer.kid, at);
      current = signer;
      active = true;
    },

    async jwks() {
      const keys = await store.listPublishable(now(), retentionSeconds);
      return {
        keys: keys.map((key) => ({ ...key.publicJwk, kid: key.kid, alg: key.alg, use: "sig" })),
      };
    },
  };
}
