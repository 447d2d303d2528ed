// @agentauth/embedded-platform — a development and demo host: the registry and the verifier in
// one process sharing in-process state (the embedded default's one-process rule), the demo
// service providers provisioned with API key files, and the `npm start` launcher. Production
// runs the registry and the verifier as their own services over Postgres and Redis.

export type {
  DemoProvisioning,
  ProvisionDemoServiceProvidersOptions,
  ProvisionedServiceProvider,
  ProvisionedStatus,
  ProvisionOutcome,
} from "./demo-provisioning.js";
export {
  apiKeyFileOf,
  provisionDemoServiceProviders,
  startDemoProvisioning,
} from "./demo-provisioning.js";
export type { LaunchOptions } from "./launcher/launch.js";
export { launch } from "./launcher/launch.js";
export type { PlatformConfig } from "./platform-config.js";
export {
  PlatformConfigError,
  parsePlatformConfig,
  parsePlatformConfigOrExit,
} from "./platform-config.js";
export { PLATFORM_READY_MESSAGE } from "./ready.js";
export type { Platform, StartPlatformOptions } from "./start-platform.js";
export { startPlatform } from "./start-platform.js";
