import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import {
  computeJwkThumbprint,
  createDpopNonceSource,
  createWebCryptoDpopKey,
  type DpopKey,
  encodeBase64Url,
  type JwsSigner,
  signCompactJws,
} from "@agentauth/core";
import {
  createMemoryAdmissionStore,
  createMemoryDecisionLog,
  createMemoryRevocationBus,
  createMemoryServiceProviderKeyDirectory,
  type ServiceProviderKeyDirectory,
} from "@agentauth/state";
import { pino } from "pino";
import type { AllowAuditMode } from "../../src/config.js";
import {
  createVerifier,
  type Verifier,
  type VerifierDeps,
  type VerifierState,
} from "../../src/create-verifier.js";
import { type Exchange, exchange } from "./http.js";
import { listen, urlOf } from "./verifier-harness.js";

// A verifier with no registry behind it: the test signs access tokens with keys of its own and
// serves their JWKS from a server it controls (to change the keys, count the fetches, or take the
// "registry" down), so every claim of a token can be set — and broken — at will.

/** The issuer bare verifiers expect in tokens. */
export const ISSUER = "https://registry.test";
export const PROVIDER = "https://payments.example.com";
export const PAY_URL = `${PROVIDER}/v1/payments`;

/** A registry signing key: signs access tokens, and is published in the JWKS under its `kid`. */
export interface TokenSigner {
  readonly kid: string;
  /** The public JWK as the JWKS lists it. */
  readonly jwk: Readonly<Record<string, unknown>>;
  /** Signs `claims` as an access token; `header` overrides or adds header fields. */
  sign(
    claims: Readonly<Record<string, unknown>>,
    header?: Record<string, unknown>,
  ): Promise<string>;
  readonly signer: JwsSigner;
}

export async function createTokenSigner(
  kid = `key-${randomBytes(4).toString("hex")}`,
): Promise<TokenSigner> {
  const key = await generateKey();
  const signer: TokenSigner = {
    kid,
    jwk: { ...key.publicJwk, kid, alg: "ES256", use: "sig" },
    signer: key,
    sign: (claims, header = {}) => signCompactJws({ typ: "at+jwt", kid, ...header }, claims, key),
  };
  return signer;
}

/** An agent's key and its RFC 7638 thumbprint. */
export interface AgentKey {
  readonly id: string;
  readonly key: DpopKey;
  readonly jkt: string;
}

export async function createAgentKey(): Promise<AgentKey> {
  const key = await generateKey();
  return {
    id: `agt_${randomBytes(8).toString("hex")}`,
    key,
    jkt: await computeJwkThumbprint(key.publicJwk),
  };
}

async function generateKey(): Promise<DpopKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  return createWebCryptoDpopKey(pair);
}

/** What the registry grants in the tests' tokens unless told otherwise. */
export const DETAILS = [
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
  { type: "read", resource: "reports/*" },
];

/** Valid access token claims for `agent` and the payments provider, with `overrides`. */
export function tokenClaims(
  agent: AgentKey,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    sub: agent.id,
    aud: PROVIDER,
    client_id: agent.id,
    iat,
    exp: iat + 600,
    jti: `at_${randomBytes(12).toString("hex")}`,
    cnf: { jkt: agent.jkt },
    authorization_details: DETAILS,
    grant_id: `grt_${randomBytes(8).toString("hex")}`,
    human_id: "hum_test",
    ...overrides,
  };
}

/** A JWKS endpoint the test controls. */
export interface JwksServer {
  readonly url: string;
  /** The keys served. */
  keys: Readonly<Record<string, unknown>>[];
  /** `false` answers 503, as a registry that is down. */
  up: boolean;
  /** Requests received so far. */
  readonly fetches: number;
  close(): Promise<void>;
}

export async function startJwksServer(
  keys: Readonly<Record<string, unknown>>[],
): Promise<JwksServer> {
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches += 1;
    if (!served.up) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: served.keys }));
  });
  await listen(server);
  const served: JwksServer = {
    url: `${urlOf(server)}/.well-known/jwks.json`,
    keys,
    up: true,
    get fetches() {
      return fetches;
    },
    close: () => closeServer(server),
  };
  return served;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A fresh verifier API key (`aask_<prefix>_<secret>`). */
export function createApiKey(): string {
  return `aask_${randomBytes(8).toString("base64url").slice(0, 11)}_${randomBytes(32).toString("base64url")}`;
}

/** Publishes `apiKey` for `serviceProviderId`, as the registry does. */
export async function publishKey(
  directory: ServiceProviderKeyDirectory,
  apiKey: string,
  serviceProviderId = PROVIDER,
  revoked = false,
): Promise<void> {
  const [, prefix, secret] = /^aask_(.{11})_(.{43})$/.exec(apiKey) ?? [];
  if (prefix === undefined || secret === undefined) throw new Error("not an API key");
  await directory.put([
    {
      prefix,
      serviceProviderId,
      secretHash: createHash("sha256").update(secret).digest("hex"),
      revoked,
    },
  ]);
}

export interface BareVerifierOptions {
  readonly state?: Partial<VerifierState>;
  readonly auditAllows?: AllowAuditMode;
  readonly apiKeyCacheSeconds?: number;
  readonly readinessChecks?: VerifierDeps["readinessChecks"];
  /** Where keys are fetched; default a new {@link JwksServer} with {@link BareVerifier.signer}. */
  readonly jwks?: JwksServer;
}

export interface BareVerifier {
  readonly url: string;
  readonly apiKey: string;
  readonly verifier: Verifier;
  readonly state: VerifierState;
  readonly jwks: JwksServer;
  /** The key the JWKS holds at start. */
  readonly signer: TokenSigner;
  /** A nonce the verifier accepts now. */
  nonce(): Promise<string>;
  /** POSTs `body` to /v1/verify with the provider's key (or `apiKey`). */
  verify(body: unknown, apiKey?: string): Promise<Exchange>;
  stop(): Promise<void>;
}

export async function startBareVerifier(options: BareVerifierOptions = {}): Promise<BareVerifier> {
  const signer = await createTokenSigner();
  const jwks = options.jwks ?? (await startJwksServer([signer.jwk]));
  const state: VerifierState = {
    admissionStore: createMemoryAdmissionStore(),
    revocationBus: createMemoryRevocationBus(),
    keyDirectory: createMemoryServiceProviderKeyDirectory(),
    decisionLog: createMemoryDecisionLog(),
    ...options.state,
  };
  const apiKey = createApiKey();
  await publishKey(state.keyDirectory, apiKey);
  const secret = randomBytes(32);
  const nonces = createDpopNonceSource({ secret });
  const verifier = createVerifier({
    logger: pino({ level: "silent" }),
    clock: { now: () => new Date() },
    issuer: ISSUER,
    jwksUrl: jwks.url,
    state,
    dpopNonceSecret: secret,
    requireDpopNonce: true,
    clockSkewSeconds: 5,
    apiKeyCacheSeconds: options.apiKeyCacheSeconds ?? 5,
    tokenCacheSize: 1000,
    auditAllows: options.auditAllows ?? "all",
    ...(options.readinessChecks === undefined ? {} : { readinessChecks: options.readinessChecks }),
  });
  await verifier.start();
  const server = await listen(createServer(verifier.handler));
  const url = urlOf(server);
  let stopped: Promise<void> | undefined;
  return {
    url,
    apiKey,
    verifier,
    state,
    jwks,
    signer,
    nonce: () => nonces.issue(new Date()),
    verify: (body, key = apiKey) =>
      exchange(`${url}/v1/verify`, { headers: { authorization: `Bearer ${key}` }, body }),
    stop() {
      stopped ??= (async () => {
        await closeServer(server);
        await verifier.stop();
        if (options.jwks === undefined) await jwks.close();
      })();
      return stopped;
    },
  };
}

/** A proof payload as `createDpopProof` makes it, for tests that break it on purpose. */
export function proofClaims(accessToken: string, nonce?: string): Record<string, unknown> {
  return {
    jti: randomBytes(24).toString("base64url"),
    htm: "POST",
    htu: PAY_URL,
    iat: Math.floor(Date.now() / 1000),
    ath: encodeBase64Url(createHash("sha256").update(accessToken).digest()),
    ...(nonce === undefined ? {} : { nonce }),
  };
}
