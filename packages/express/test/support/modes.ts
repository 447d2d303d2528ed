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

export const modes: readonly VerificationMode[] = [remoteMode];
