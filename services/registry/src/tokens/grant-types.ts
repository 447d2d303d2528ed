/** OpenID CIBA §10.1. */
export const CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba";
/** RFC 8693 §2.1. */
export const TOKEN_EXCHANGE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange";

/** The grant types of the token endpoint, as discovery lists them. */
export const TOKEN_GRANT_TYPES = [
  CIBA_GRANT_TYPE,
  "refresh_token",
  TOKEN_EXCHANGE_GRANT_TYPE,
] as const;
