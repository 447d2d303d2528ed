import { z } from "zod";
import { getCurrencyMinorUnits } from "../money/currencies.js";
import { tryParseAmount } from "../money/parse-amount.js";
import { parseResource } from "./resource.js";

// Building blocks shared by the capability and envelope schemas, so that every field says the
// same thing in the same words ("is required", "must be an integer", …).

function expecting(expected: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? "is required" : `must be ${expected}`;
}

export function stringField(expected = "a string") {
  return z.string({ error: expecting(expected) });
}

export function booleanField() {
  return z.boolean({ error: expecting("true or false") });
}

export function integerField(min: number, max?: number) {
  const field = z
    .number({ error: expecting("an integer") })
    // .int() also bounds the value to safe integers, with a too_big issue.
    .int({
      error: (issue) =>
        issue.code === "too_big"
          ? `must be at most ${Number.MAX_SAFE_INTEGER}`
          : "must be an integer",
    })
    .min(min, { error: `must be at least ${min}` });
  return max === undefined ? field : field.max(max, { error: `must be at most ${max}` });
}

export function objectField<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.strictObject(shape, { error: expecting("an object") });
}

export function arrayField<Item extends z.ZodType>(item: Item, max: number) {
  return z
    .array(item, { error: expecting("an array") })
    .min(1, { error: "must not be empty" })
    .max(max, { error: `must have at most ${max} entries` });
}

export function resourceField() {
  return stringField().superRefine((text, context) => {
    const result = parseResource(text);
    if (!result.ok) context.addIssue({ code: "custom", message: result.problem });
  });
}

export function currencyField() {
  const message = "must be an active ISO 4217 currency code such as EUR";
  return stringField(message).refine((code) => getCurrencyMinorUnits(code) !== undefined, {
    error: message,
  });
}

/**
 * Refinement for an object holding a decimal amount under `key` next to a `currency`: the
 * decimals must match the currency. Zod runs it even when `currency` failed its own check, so
 * it stays quiet then rather than repeat that problem.
 */
export function checkAmountMatchesCurrency<Key extends string>(key: Key) {
  return (value: Record<Key | "currency", string>, context: z.RefinementCtx) => {
    if (getCurrencyMinorUnits(value.currency) === undefined) return;
    const result = tryParseAmount(value[key], value.currency);
    if (!result.ok) context.addIssue({ code: "custom", path: [key], message: result.problem });
  };
}
