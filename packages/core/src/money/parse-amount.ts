import { throwValidationError } from "../capabilities/validation-issues.js";
import type { ErrorCode } from "../errors.js";
import { getCurrencyMinorUnits } from "./currencies.js";

export type ParseAmountResult = { ok: true; minor: number } | { ok: false; problem: string };

export interface ParseAmountOptions {
  /** The code to throw with, e.g. `ERR_ENVELOPE_INVALID`. */
  errorCode: ErrorCode;
  /** Where the amount sits in the caller's input, for the message. Default `amount`. */
  path?: string;
}

// No sign, exponent, spaces or leading zeros, so each amount has exactly one spelling (and hash).
const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
// Longer than any safe integer amount, short enough that huge strings fail fast.
const MAX_DECIMAL_LENGTH = 24;

/**
 * Converts a decimal amount to integer minor units of `currency` ("50.00" EUR is 5000), or
 * explains why it cannot. Never throws, whatever the input.
 */
export function tryParseAmount(decimal: string, currency: string): ParseAmountResult {
  const digits = getCurrencyMinorUnits(currency);
  if (digits === undefined) {
    return { ok: false, problem: "the currency is not an active ISO 4217 code" };
  }
  const match =
    typeof decimal === "string" && decimal.length <= MAX_DECIMAL_LENGTH
      ? DECIMAL.exec(decimal)
      : null;
  if (match === null) {
    const example = digits === 0 ? "50" : `50.${"0".repeat(digits)}`;
    return {
      ok: false,
      problem: `must be a decimal string like "${example}" (no sign, exponent or leading zeros)`,
    };
  }
  const [, whole = "", fraction = ""] = match;
  if (fraction.length !== digits) {
    return {
      ok: false,
      problem:
        digits === 0
          ? `must have no decimal places for ${currency}`
          : `must have exactly ${digits} decimal places for ${currency}`,
    };
  }
  // Any digit string above 2^53 - 1 rounds to at least 2^53, so this also rejects those.
  const minor = Number(whole + fraction);
  if (!Number.isSafeInteger(minor)) return { ok: false, problem: "is too large" };
  return { ok: true, minor };
}

/**
 * Converts a decimal amount to integer minor units of `currency`, throwing an `AgentAuthError`
 * with the caller's code when it is malformed.
 *
 * @example parseAmount("1.250", "BHD", { errorCode: "ERR_ENVELOPE_INVALID" }) === 1250
 */
export function parseAmount(
  decimal: string,
  currency: string,
  options: ParseAmountOptions,
): number {
  const result = tryParseAmount(decimal, currency);
  if (result.ok) return result.minor;
  return throwValidationError(options.errorCode, [
    { path: options.path ?? "amount", message: result.problem },
  ]);
}
