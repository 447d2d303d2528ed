// @agentauth/core — the protocol core. Pure: no network, database, environment or clock reads.

export type {
  AuditChainBreakDetails,
  AuditChainBreakReason,
  ChainedAuditEvent,
  VerifyAuditChainOptions,
  VerifyAuditChainResult,
} from "./audit/hash-chain.js";
// Audit hash chain
export { computeAuditEventHash, GENESIS_HASH, verifyAuditChain } from "./audit/hash-chain.js";
export {
  assertNarrowerOrEqual,
  isNarrowerOrEqual,
} from "./capabilities/assert-narrower-or-equal.js";
export type {
  AuthorizationDetail,
  AuthorizationDetails,
  ParseAuthorizationDetailsResult,
} from "./capabilities/authorization-details.js";
export {
  parseAuthorizationDetails,
  toAuthorizationDetails,
} from "./capabilities/authorization-details.js";
export type {
  Capability,
  CapabilityType,
  CustomCapability,
  DeleteCapability,
  ReadCapability,
  TransactCapability,
  WriteCapability,
} from "./capabilities/capability.js";
// Capabilities and authorization details (RFC 9396)
export { CAPABILITY_TYPES } from "./capabilities/capability.js";
export type {
  CapabilityRisk,
  DescribeCapabilityResult,
} from "./capabilities/describe-capability.js";
export { describeCapability } from "./capabilities/describe-capability.js";
export type { CapabilityRequest } from "./capabilities/match-capability.js";
export { findMatchingCapability, matchesCapabilities } from "./capabilities/match-capability.js";
export { parseCapabilities } from "./capabilities/parse-capabilities.js";
export type { ValidationIssue } from "./capabilities/validation-issues.js";
export type { Widening } from "./capabilities/widening.js";
export type {
  CreateClientAssertionOptions,
  VerifyClientAssertionOptions,
  VerifyClientAssertionResult,
} from "./client/client-assertion.js";
// OAuth client authentication (RFC 7523)
export {
  CLIENT_ASSERTION_TYPE,
  createClientAssertion,
  verifyClientAssertion,
} from "./client/client-assertion.js";
export type { DecodedJws } from "./crypto/compact-jws.js";
export { decodeCompactJws, signCompactJws } from "./crypto/compact-jws.js";
export { constantTimeEqual } from "./crypto/constant-time-equal.js";
export { createWebCryptoDpopKey } from "./crypto/create-web-crypto-dpop-key.js";
export { derToJoseSignature } from "./crypto/der-signature.js";
export type {
  EcPublicJwk,
  OkpPublicJwk,
  ParsePublicJwkOptions,
  PublicJwk,
  RsaPublicJwk,
} from "./crypto/jwk.js";
// Keys, signatures, JWS
export { computeJwkThumbprint, isAlgorithmForJwk, parsePublicJwk } from "./crypto/jwk.js";
export type { CreateKeyCacheOptions, KeyCache } from "./crypto/key-cache.js";
export { createKeyCache } from "./crypto/key-cache.js";
export type { DpopKey, JwsSigner, Signer } from "./crypto/signer.js";
export type { CreateDpopProofOptions } from "./dpop/create-dpop-proof.js";
// DPoP (RFC 9449)
export { createDpopProof } from "./dpop/create-dpop-proof.js";
export type { CreateDpopNonceSourceOptions, DpopNonceSource } from "./dpop/dpop-nonce-source.js";
export { createDpopNonceSource } from "./dpop/dpop-nonce-source.js";
export { normalizeHtu } from "./dpop/normalize-htu.js";
export type {
  DpopAlgorithm,
  DpopProofClaims,
  MarkDpopJtiUsed,
  VerifyDpopProofOptions,
  VerifyDpopProofResult,
} from "./dpop/verify-dpop-proof.js";
export { verifyDpopProof } from "./dpop/verify-dpop-proof.js";
// Encoding
export { decodeBase64Url, decodeUtf8, encodeBase64Url, encodeUtf8 } from "./encoding/base64url.js";
export type { JsonValue } from "./encoding/canonical-json.js";
export { canonicalizeJson } from "./encoding/canonical-json.js";
export { decodeHex, encodeHex } from "./encoding/hex.js";
export { describeEnvelope } from "./envelope/describe-envelope.js";
export type { Envelope, RateLimit, SpendCap, TimeWindow, Weekday } from "./envelope/envelope.js";
// Behavioural envelope
export { WEEKDAYS } from "./envelope/envelope.js";
export type { EnvelopeCounters } from "./envelope/envelope-counters.js";
export { currentWindowStart, spendCounterKey } from "./envelope/envelope-counters.js";
export type {
  EnvelopeDecision,
  EnvelopeDenyReason,
  EnvelopeRequest,
  EnvelopeSpendRemaining,
} from "./envelope/evaluate-envelope.js";
export { evaluateEnvelope } from "./envelope/evaluate-envelope.js";
export { parseEnvelope } from "./envelope/parse-envelope.js";
export type { AgentAuthErrorOptions, ErrorCode } from "./errors.js";
export { AgentAuthError, ERROR_CODES, isAgentAuthError } from "./errors.js";
export type { FinalGrant } from "./grant/grant-digest.js";

// Grants
export {
  canonicalizeGrant,
  computeGrantDigest,
  deriveApprovalChallenge,
} from "./grant/grant-digest.js";
// Money
export { getCurrencyMinorUnits } from "./money/currencies.js";
export { formatAmount } from "./money/format-amount.js";
export type { Money } from "./money/money.js";
export type { ParseAmountOptions, ParseAmountResult } from "./money/parse-amount.js";
export { parseAmount, tryParseAmount } from "./money/parse-amount.js";
export type { SignatureAlgorithm } from "./platform/platform.js";
export type { ServiceProviderApiKeyParts } from "./service-provider/api-key.js";
// Service providers
export { parseServiceProviderApiKey } from "./service-provider/api-key.js";
export type {
  AccessTokenClaims,
  BuildAccessTokenClaimsOptions,
  JsonWebKeySet,
  VerifyAccessTokenOptions,
  VerifyAccessTokenResult,
} from "./token/access-token.js";
// Access tokens (RFC 9068)
export {
  buildAccessTokenClaims,
  MAX_ACCESS_TOKEN_LIFETIME_SECONDS,
  signAccessToken,
  verifyAccessToken,
} from "./token/access-token.js";
