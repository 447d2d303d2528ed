// @agentauth/example-payments — the payments service provider: `createPaymentsApp`.

export type { PaymentsConfig } from "./config.js";
export { parsePaymentsConfig } from "./config.js";
export type { Payment, PaymentsAppDeps } from "./create-payments-app.js";
export { createPaymentsApp } from "./create-payments-app.js";
export type { PaymentsErrorCode } from "./errors.js";
export { PAYMENTS_ERROR_CODES, PAYMENTS_ERROR_STATUS, PaymentsError } from "./errors.js";
export { DEFAULT_MERCHANTS } from "./merchants.js";
