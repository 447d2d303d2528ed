const API_KEY_PATTERN = /^aask_([A-Za-z0-9_-]{11})_([A-Za-z0-9_-]{43})$/;

/** A verifier API key's two parts: the public lookup prefix and the 256-bit secret. */
export interface ServiceProviderApiKeyParts {
  readonly prefix: string;
  readonly secret: string;
}

/**
 * Splits a service provider's verifier API key, `aask_<11-character prefix>_<43-character
 * secret>` (base64url), into its parts; `undefined` for anything else. The registry stores the
 * prefix and a hash of the secret; whoever checks a key looks it up by prefix and compares the
 * hashes in constant time.
 */
export function parseServiceProviderApiKey(key: string): ServiceProviderApiKeyParts | undefined {
  const match = API_KEY_PATTERN.exec(key);
  return match === null ? undefined : { prefix: match[1] as string, secret: match[2] as string };
}
