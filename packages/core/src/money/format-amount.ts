import { getCurrencyMinorUnits } from "./currencies.js";

/**
 * Formats integer minor units as the wire decimal string of `currency` (5000 EUR is "50.00",
 * 500 JPY is "500"). Throws `TypeError` for a negative or unsafe amount or an unknown currency.
 */
export function formatAmount(minor: number, currency: string): string {
  const digits = getCurrencyMinorUnits(currency);
  if (digits === undefined) throw new TypeError(`Unknown currency ${JSON.stringify(currency)}`);
  if (!Number.isSafeInteger(minor) || minor < 0) {
    throw new TypeError("An amount must be a non-negative safe integer of minor units");
  }
  if (digits === 0) return String(minor);
  const text = String(minor).padStart(digits + 1, "0");
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}
