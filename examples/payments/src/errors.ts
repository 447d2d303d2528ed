/** Every failure the payments example answers itself (the verifier's refusals are the middleware's). */
export const PAYMENTS_ERROR_CODES = [
  "ERR_VALIDATION",
  "ERR_UNKNOWN_MERCHANT",
  "ERR_NOT_FOUND",
] as const;

export type PaymentsErrorCode = (typeof PAYMENTS_ERROR_CODES)[number];

export const PAYMENTS_ERROR_STATUS: Readonly<Record<PaymentsErrorCode, number>> = {
  ERR_VALIDATION: 400,
  ERR_UNKNOWN_MERCHANT: 404,
  ERR_NOT_FOUND: 404,
};

/** The payments example's one coded error type. */
export class PaymentsError extends Error {
  override readonly name = "PaymentsError";
  constructor(
    readonly code: PaymentsErrorCode,
    message: string,
  ) {
    super(message);
  }
}
