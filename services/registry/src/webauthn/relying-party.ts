/** The WebAuthn relying party the registry is: fixed by configuration, never by a request. */
export interface RelyingParty {
  /** RP ID: a registrable domain suffix of the origin's host, e.g. `agentauth.example`. */
  readonly id: string;
  /** Shown by authenticators while creating a passkey. */
  readonly name: string;
  /** The one origin ceremonies may run on, e.g. `https://agentauth.example` (no path). */
  readonly origin: string;
}

/** COSE algorithm ids we accept, most preferred first: ES256, then EdDSA (Ed25519). */
export const SUPPORTED_ALGORITHM_IDS: readonly number[] = [-7, -8];

/** How long a registration, sign-in or approval challenge may be answered. */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;

/**
 * Checks a relying-party configuration once, at wiring time; a bad one is a programmer or
 * operator error (`TypeError`), not a request failure.
 */
export function assertRelyingParty(rp: RelyingParty): RelyingParty {
  let url: URL;
  try {
    url = new URL(rp.origin);
  } catch (cause) {
    throw new TypeError(`WebAuthn origin "${rp.origin}" is not a URL`, { cause });
  }
  if (url.origin !== rp.origin) {
    throw new TypeError(
      `WebAuthn origin "${rp.origin}" must be a bare origin such as "${url.origin}"`,
    );
  }
  const host = url.hostname;
  if (rp.id === "" || (host !== rp.id && !host.endsWith(`.${rp.id}`))) {
    throw new TypeError(`WebAuthn RP ID "${rp.id}" is not the origin's host or a suffix of it`);
  }
  if (rp.name.trim() === "") throw new TypeError("WebAuthn RP name must not be empty");
  return rp;
}
