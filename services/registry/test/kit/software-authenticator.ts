import { decodeBase64Url, encodeBase64Url } from "@agentauth/core";
import { type CborValue, encodeCbor } from "./webauthn-cbor.js";

/**
 * A software passkey authenticator and the browser around it, for tests. It answers the JSON
 * options of `navigator.credentials.create()` / `get()` with REAL WebAuthn responses (the
 * `PublicKeyCredential.toJSON()` shape): real key pairs (P-256, or Ed25519), a real COSE public
 * key, authenticator data with RP ID hash, flags, signature counter and attested credential data,
 * clientDataJSON, "none" attestation, and ES256 signatures (DER) or EdDSA signatures over
 * `authenticatorData ‖ SHA-256(clientDataJSON)`. Overrides make it misbehave the ways real
 * attackers and broken authenticators do: another origin or RP ID, no user verification, a
 * chosen counter, a signature by another credential. Uses only WebCrypto, so it also runs in
 * browsers.
 *
 * @example
 * const authenticator = createSoftwareAuthenticator({ rpId: "localhost", origin: "http://localhost:4000" });
 * const response = await authenticator.register(registrationOptions);
 * const assertion = await authenticator.assert(authenticationOptions, { userVerified: false });
 */
export function createSoftwareAuthenticator(
  options: CreateSoftwareAuthenticatorOptions,
): SoftwareAuthenticator {
  const origin = new URL(options.origin).origin;
  const algorithms = options.algorithms ?? ["ES256"];
  const credentials: SoftwareCredential[] = [];
  const aaguid = options.aaguid ?? new Uint8Array(16);
  if (aaguid.length !== 16) throw new TypeError("aaguid must be 16 bytes");

  return {
    rpId: options.rpId,
    origin,
    credentials,

    async register(creation, overrides = {}) {
      const rpId = scopeRpId(creation.rp.id, origin);
      if (overrides.rpId === undefined && rpId !== options.rpId) {
        throw new Error(
          `SecurityError: options name RP ID "${rpId}", this authenticator serves "${options.rpId}"`,
        );
      }
      for (const excluded of creation.excludeCredentials ?? []) {
        if (
          credentials.some(
            (credential) => credential.id === excluded.id && credential.rpId === rpId,
          )
        ) {
          throw new Error(
            "InvalidStateError: this authenticator already holds an excluded credential",
          );
        }
      }
      const algorithm =
        overrides.algorithm ??
        algorithms.find((candidate) =>
          creation.pubKeyCredParams.some(
            (parameter) =>
              parameter.type === "public-key" && parameter.alg === COSE_ALGORITHM[candidate],
          ),
        );
      if (algorithm === undefined) {
        throw new Error(
          "NotSupportedError: none of the offered algorithms is supported by this authenticator",
        );
      }
      const keyPair = await generateKeyPair(algorithm);
      const rawId = crypto.getRandomValues(new Uint8Array(32));
      const cosePublicKey = await toCosePublicKey(
        algorithm,
        keyPair.publicKey,
        overrides.coseAlgorithm,
      );
      const counter = overrides.counter ?? 0;
      const credential: SoftwareCredential = {
        id: encodeBase64Url(rawId),
        rpId,
        userHandle: creation.user.id,
        algorithm,
        cosePublicKey,
        privateKey: keyPair.privateKey,
        counter,
      };

      const clientDataJSON = clientData("webauthn.create", creation.challenge, origin, overrides);
      const authenticatorData = concat(
        await sha256(new TextEncoder().encode(overrides.rpId ?? rpId)),
        Uint8Array.of(flags(overrides, options.backedUp ?? false) | FLAG_AT),
        uint32(counter),
        aaguid,
        Uint8Array.of(rawId.length >> 8, rawId.length & 0xff),
        rawId,
        cosePublicKey,
      );
      const attestationObject = encodeCbor(
        new Map<string, CborValue>([
          ["fmt", "none"],
          ["attStmt", new Map()],
          ["authData", authenticatorData],
        ]),
      );
      credentials.push(credential);
      const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keyPair.publicKey));
      return {
        id: credential.id,
        rawId: credential.id,
        type: "public-key",
        response: {
          clientDataJSON: encodeBase64Url(clientDataJSON),
          attestationObject: encodeBase64Url(attestationObject),
          authenticatorData: encodeBase64Url(authenticatorData),
          transports: ["internal"],
          publicKey: encodeBase64Url(spki),
          publicKeyAlgorithm: COSE_ALGORITHM[algorithm],
        },
        authenticatorAttachment: "platform",
        clientExtensionResults:
          creation.extensions?.credProps === true
            ? { credProps: { rk: overrides.discoverable ?? true } }
            : {},
      };
    },

    async assert(request, overrides = {}) {
      const rpId = scopeRpId(request.rpId, origin);
      const allowed = request.allowCredentials ?? [];
      const candidates = credentials.filter(
        (credential) =>
          credential.rpId === rpId &&
          (allowed.length === 0 || allowed.some((descriptor) => descriptor.id === credential.id)),
      );
      const credential =
        overrides.credentialId === undefined
          ? candidates.at(-1)
          : credentials.find((candidate) => candidate.id === overrides.credentialId);
      if (credential === undefined) {
        throw new Error("NotAllowedError: this authenticator holds no matching credential");
      }
      const counter =
        overrides.counter ?? (options.zeroCounter === true ? 0 : credential.counter + 1);
      credential.counter = Math.max(credential.counter, counter);

      const clientDataJSON = clientData("webauthn.get", request.challenge, origin, overrides);
      const authenticatorData = concat(
        await sha256(new TextEncoder().encode(overrides.rpId ?? rpId)),
        Uint8Array.of(flags(overrides, options.backedUp ?? false)),
        uint32(counter),
      );
      const signer = overrides.signWith ?? credential;
      const signature = await sign(signer, concat(authenticatorData, await sha256(clientDataJSON)));
      const userHandle =
        overrides.userHandle === null ? undefined : (overrides.userHandle ?? credential.userHandle);
      return {
        id: credential.id,
        rawId: credential.id,
        type: "public-key",
        response: {
          clientDataJSON: encodeBase64Url(clientDataJSON),
          authenticatorData: encodeBase64Url(authenticatorData),
          signature: encodeBase64Url(signature),
          ...(userHandle === undefined ? {} : { userHandle }),
        },
        authenticatorAttachment: "platform",
        clientExtensionResults: {},
      };
    },
  };
}

export type SoftwareAlgorithm = "ES256" | "EdDSA";

export interface CreateSoftwareAuthenticatorOptions {
  /** The RP ID this authenticator's browser expects options to name. */
  readonly rpId: string;
  /** The origin the "browser" is on: it goes into clientDataJSON. */
  readonly origin: string;
  /** Key types it can make, most preferred first; default `["ES256"]`. */
  readonly algorithms?: readonly SoftwareAlgorithm[];
  /** Report a signature counter of 0 on every use, as many synced passkeys do. */
  readonly zeroCounter?: boolean;
  /** Set the backup-eligible and backed-up flags (a synced, multi-device passkey). */
  readonly backedUp?: boolean;
  /** 16 bytes; default all zero, as with "none" attestation. */
  readonly aaguid?: Uint8Array;
}

/** Ways to make a ceremony defective. Each defaults to what an honest authenticator does. */
export interface CeremonyOverrides {
  /** `clientDataJSON.origin`, as if the ceremony ran on another site. */
  readonly origin?: string;
  /** The RP ID hashed into the authenticator data, as if the passkey were scoped elsewhere. */
  readonly rpId?: string;
  /** The UV flag; `false` for an authenticator that skipped PIN or biometrics. */
  readonly userVerified?: boolean;
  /** The UP flag. */
  readonly userPresent?: boolean;
  /** Answer another challenge than the options carry. */
  readonly challenge?: string;
  /** `clientDataJSON.type`. */
  readonly type?: string;
  /** Claim the ceremony ran in a cross-origin frame. */
  readonly crossOrigin?: boolean;
}

export interface RegisterOverrides extends CeremonyOverrides {
  /** Make this kind of key whatever the options offer. */
  readonly algorithm?: SoftwareAlgorithm;
  /** What `credProps.rk` reports when the options ask for it; default `true`. */
  readonly discoverable?: boolean;
  /** The initial signature counter; default 0. */
  readonly counter?: number;
  /** Label the COSE public key with this algorithm id instead (a key type the RP never offered). */
  readonly coseAlgorithm?: number;
}

export interface AssertOverrides extends CeremonyOverrides {
  /** Use this credential of this authenticator (default: the newest matching one). */
  readonly credentialId?: string;
  /** The signature counter to report (default: the last one + 1, or 0 with `zeroCounter`). */
  readonly counter?: number;
  /** Sign with another credential's private key (a forgery). */
  readonly signWith?: SoftwareCredential;
  /** Another user handle, or `null` to send none. */
  readonly userHandle?: string | null;
}

/** A passkey held by a software authenticator. */
export interface SoftwareCredential {
  /** base64url */
  readonly id: string;
  readonly rpId: string;
  /** base64url, the `user.id` of the registration options. */
  readonly userHandle: string;
  readonly algorithm: SoftwareAlgorithm;
  /** The COSE_Key as registered. */
  readonly cosePublicKey: Uint8Array;
  readonly privateKey: CryptoKey;
  /** The last signature counter reported. */
  counter: number;
}

/** The JSON form of `PublicKeyCredentialCreationOptions` (WebAuthn L3 §5.4), as a server sends it. */
export interface CreationOptionsJSON {
  readonly challenge: string;
  readonly rp: { readonly id?: string; readonly name: string };
  readonly user: { readonly id: string; readonly name: string; readonly displayName: string };
  readonly pubKeyCredParams: readonly { readonly type: string; readonly alg: number }[];
  readonly excludeCredentials?: readonly { readonly id: string; readonly type?: string }[];
  readonly authenticatorSelection?: {
    readonly residentKey?: string;
    readonly requireResidentKey?: boolean;
    readonly userVerification?: string;
  };
  readonly attestation?: string;
  readonly extensions?: { readonly credProps?: boolean };
  readonly timeout?: number;
}

/** The JSON form of `PublicKeyCredentialRequestOptions` (WebAuthn L3 §5.5). */
export interface RequestOptionsJSON {
  readonly challenge: string;
  readonly rpId?: string;
  readonly allowCredentials?: readonly { readonly id: string; readonly type?: string }[];
  readonly userVerification?: string;
  readonly timeout?: number;
}

/** `RegistrationResponseJSON` (WebAuthn L3 §5.1). */
export interface RegistrationResponseJSON {
  readonly id: string;
  readonly rawId: string;
  readonly type: "public-key";
  readonly response: {
    readonly clientDataJSON: string;
    readonly attestationObject: string;
    readonly authenticatorData: string;
    readonly transports: readonly string[];
    readonly publicKey: string;
    readonly publicKeyAlgorithm: number;
  };
  readonly authenticatorAttachment: "platform";
  readonly clientExtensionResults: { readonly credProps?: { readonly rk: boolean } };
}

/** `AuthenticationResponseJSON` (WebAuthn L3 §5.1). */
export interface AuthenticationResponseJSON {
  readonly id: string;
  readonly rawId: string;
  readonly type: "public-key";
  readonly response: {
    readonly clientDataJSON: string;
    readonly authenticatorData: string;
    readonly signature: string;
    readonly userHandle?: string;
  };
  readonly authenticatorAttachment: "platform";
  readonly clientExtensionResults: Record<string, never>;
}

export interface SoftwareAuthenticator {
  readonly rpId: string;
  readonly origin: string;
  /** Every credential it made, oldest first. */
  readonly credentials: readonly SoftwareCredential[];
  /** `navigator.credentials.create({ publicKey })`, answered. */
  register(
    options: CreationOptionsJSON,
    overrides?: RegisterOverrides,
  ): Promise<RegistrationResponseJSON>;
  /** `navigator.credentials.get({ publicKey })`, answered. */
  assert(
    options: RequestOptionsJSON,
    overrides?: AssertOverrides,
  ): Promise<AuthenticationResponseJSON>;
}

const COSE_ALGORITHM: Record<SoftwareAlgorithm, number> = { ES256: -7, EdDSA: -8 };

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

// The browser's check (WebAuthn L3 §5.1.3 step 8): the RP ID must be the origin's host or a
// registrable suffix of it. Defaults to the host, as browsers do.
function scopeRpId(requested: string | undefined, origin: string): string {
  const host = new URL(origin).hostname;
  const rpId = requested ?? host;
  if (host !== rpId && !host.endsWith(`.${rpId}`)) {
    throw new Error(`SecurityError: RP ID "${rpId}" is not valid on origin ${origin}`);
  }
  return rpId;
}

function clientData(
  type: string,
  challenge: string,
  origin: string,
  overrides: CeremonyOverrides,
): Uint8Array {
  // Property order as browsers write it (WebAuthn L3 §5.8.1.2).
  return new TextEncoder().encode(
    JSON.stringify({
      type: overrides.type ?? type,
      challenge: overrides.challenge ?? challenge,
      origin: overrides.origin ?? origin,
      crossOrigin: overrides.crossOrigin ?? false,
    }),
  );
}

function flags(overrides: CeremonyOverrides, backedUp: boolean): number {
  let value = 0;
  if (overrides.userPresent ?? true) value |= FLAG_UP;
  if (overrides.userVerified ?? true) value |= FLAG_UV;
  if (backedUp) value |= FLAG_BE | FLAG_BS;
  return value;
}

async function generateKeyPair(algorithm: SoftwareAlgorithm): Promise<CryptoKeyPair> {
  const parameters =
    algorithm === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
  return (await crypto.subtle.generateKey(parameters, true, ["sign", "verify"])) as CryptoKeyPair;
}

// COSE_Key (RFC 9052 §7, RFC 9053 §2.1 and §2.2): EC2 with crv P-256 for ES256, OKP Ed25519 for EdDSA.
async function toCosePublicKey(
  algorithm: SoftwareAlgorithm,
  publicKey: CryptoKey,
  label = COSE_ALGORITHM[algorithm],
): Promise<Uint8Array> {
  if (algorithm === "EdDSA") {
    const x = new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
    return encodeCbor(
      new Map<number, CborValue>([
        [1, 1],
        [3, label],
        [-1, 6],
        [-2, x],
      ]),
    );
  }
  const jwk = await crypto.subtle.exportKey("jwk", publicKey);
  const x = decodeBase64Url(jwk.x ?? "");
  const y = decodeBase64Url(jwk.y ?? "");
  if (x === undefined || y === undefined)
    throw new Error("WebCrypto exported an invalid P-256 JWK");
  return encodeCbor(
    new Map<number, CborValue>([
      [1, 2],
      [3, label],
      [-1, 1],
      [-2, x],
      [-3, y],
    ]),
  );
}

async function sign(credential: SoftwareCredential, data: Uint8Array): Promise<Uint8Array> {
  if (credential.algorithm === "EdDSA") {
    return new Uint8Array(
      await crypto.subtle.sign({ name: "Ed25519" }, credential.privateKey, toArrayBuffer(data)),
    );
  }
  const raw = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      credential.privateKey,
      toArrayBuffer(data),
    ),
  );
  return rawEcdsaSignatureToDer(raw);
}

/** WebCrypto's IEEE P1363 `r ‖ s` to the ASN.1 DER `ECDSA-Sig-Value` WebAuthn requires for ES256. */
export function rawEcdsaSignatureToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const integer = (bytes: Uint8Array): Uint8Array => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.subarray(start);
    // A leading 1 bit would read as negative: prefix a zero byte.
    const body =
      ((trimmed[0] as number) & 0x80) === 0 ? trimmed : concat(Uint8Array.of(0), trimmed);
    return concat(Uint8Array.of(0x02, body.length), body);
  };
  const r = integer(raw.subarray(0, half));
  const s = integer(raw.subarray(half));
  return concat(Uint8Array.of(0x30, r.length + s.length), r, s);
}

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", toArrayBuffer(data)));
}

function uint32(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff)
    throw new TypeError("counter must be a uint32");
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function toArrayBuffer(data: Uint8Array): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}
