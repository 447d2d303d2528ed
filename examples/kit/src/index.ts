// @agentauth/examples-kit — what the examples share: the demo service providers the platform
// registers, their configuration, their API key files, and serving with a clean shutdown.

export type { WaitForApiKeyFileOptions } from "./api-key-file.js";
export {
  ApiKeyFileError,
  readApiKeyFile,
  resolveApiKey,
  waitForApiKeyFile,
  writeApiKeyFile,
} from "./api-key-file.js";
export { ConfigError, parseEnvironment } from "./config-error.js";
export type { DemoServiceProvider } from "./demo-service-providers.js";
export {
  DEMO_PAYMENT_REQUEST,
  DEMO_SERVICE_PROVIDERS,
  EXAMPLES_KEY_DIR,
  EXCHANGE,
  PAYMENTS,
} from "./demo-service-providers.js";
export type { KnownError } from "./http.js";
export {
  createErrorHandler,
  healthRoutes,
  notFound,
  requestLog,
  sendProblem,
  validateRequest,
} from "./http.js";
export type { ExampleApp, RunExampleOptions } from "./run-example.js";
export { runExample } from "./run-example.js";
export { closeServer, listen, stopOnSignals } from "./serve.js";
export type {
  ApiKeySource,
  LogLevel,
  ServiceProviderConfig,
} from "./service-provider-config.js";
export { parseServiceProviderConfig } from "./service-provider-config.js";
