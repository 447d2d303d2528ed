/**
 * Every failure of the exchange, on the service side and in its client: the code says what
 * happened, and for HTTP answers the status (see {@link EXCHANGE_ERROR_STATUS}).
 */
export const EXCHANGE_ERROR_CODES = [
  "ERR_VALIDATION",
  "ERR_PAYLOAD_TOO_LARGE",
  "ERR_DATA_TOKEN_UNKNOWN",
  "ERR_DATA_TOKEN_EXPIRED",
  "ERR_DATA_TOKEN_USED",
  "ERR_STORE_UNAVAILABLE",
  // Client side only.
  "ERR_DECRYPTION_FAILED",
  "ERR_UNEXPECTED_ANSWER",
] as const;

export type ExchangeErrorCode = (typeof EXCHANGE_ERROR_CODES)[number];

/** The HTTP status the service answers each code with (client-side codes are never sent). */
export const EXCHANGE_ERROR_STATUS: Readonly<Record<ExchangeErrorCode, number>> = {
  ERR_VALIDATION: 400,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_DATA_TOKEN_UNKNOWN: 404,
  ERR_DATA_TOKEN_EXPIRED: 410,
  ERR_DATA_TOKEN_USED: 410,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_DECRYPTION_FAILED: 400,
  ERR_UNEXPECTED_ANSWER: 502,
};

export interface ExchangeErrorOptions {
  readonly cause?: unknown;
  /** The HTTP status the service answered with (client side). */
  readonly status?: number;
}

/** The exchange's one coded error type. Its message never holds a data token or a key. */
export class ExchangeError extends Error {
  override readonly name = "ExchangeError";
  readonly status: number | undefined;
  constructor(
    readonly code: ExchangeErrorCode,
    message: string,
    options: ExchangeErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
  }
}

export function isExchangeError(error: unknown, code?: ExchangeErrorCode): error is ExchangeError {
  return error instanceof ExchangeError && (code === undefined || error.code === code);
}
