// `pnpm --filter @agentauth/registry rotate-signing-key` or `npm run registry:rotate-signing-key`:
// rotates the file signer's key with the registry's own configuration (SIGNING_KEY_FILE or
// AGENTAUTH_DATA_DIR, relative to the repository root, as `npm start` resolves them).

import { rotateSigningKey } from "./rotate-signing-key.js";
import { SIGNING_KEY_RETENTION_SECONDS } from "./signing-key-ring.js";

try {
  const { path, signer, retiredKid, retiredPath } = await rotateSigningKey(process.env);
  console.log(`Rotated the signing key in ${path}:`);
  console.log(`  new kid      ${signer.kid}`);
  console.log(`  retired kid  ${retiredKid} (kept as ${retiredPath})`);
  console.log(
    "A running registry signs with the new key within 30 seconds (a stopped one, when it starts) " +
      "and records signing_key.rotated in the audit log. Tokens signed with the retired key stay " +
      `valid: its public key stays in the JWKS for ${SIGNING_KEY_RETENTION_SECONDS} seconds after the switch.`,
  );
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
