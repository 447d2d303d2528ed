import { PAYMENTS } from "@agentauth/registry/testing";
import {
  createInProcessVerification,
  createVerificationEngine,
} from "../../src/in-process/index.js";
import { createRemoteVerification, type Verification } from "../../src/index.js";
import type { TestPlatform } from "./platform.js";

/** One way of getting decisions; the shared suite runs once per mode. */
export interface VerificationMode {
  readonly name: string;
  create(platform: TestPlatform): Promise<Verification>;
}

/** The verifier over HTTP, with the payments provider's API key. */
export const remoteMode: VerificationMode = {
  name: "remote verifier",
  create: async (platform) =>
    createRemoteVerification({ verifierUrl: platform.verifierUrl, apiKey: platform.apiKey }),
};

/**
 * The verifier's engine in this process, on the platform's shared state (the same admission
 * store, revocation bus and decision log as the verifier service: Redis with REDIS_URL).
 */
export const inProcessMode: VerificationMode = {
  name: "in-process engine",
  async create(platform) {
    const { admissionStore, revocationBus, decisionLog } = platform.state;
    const engine = createVerificationEngine({
      issuer: platform.issuer,
      jwks: `${platform.registryUrl}/.well-known/jwks.json`,
      state: { admissionStore, revocationBus, decisionLog },
      dpopNonceSecret: platform.nonceSecret,
      clock: platform.test.clock,
      auditAllows: "all",
    });
    if (!(await engine.ready())) throw new Error("the verification engine is not ready");
    return createInProcessVerification({ engine, serviceProvider: PAYMENTS });
  },
};

export const modes: readonly VerificationMode[] = [remoteMode, inProcessMode];
