import { z } from "zod";
import {
  arrayField,
  checkAmountMatchesCurrency,
  currencyField,
  integerField,
  objectField,
  stringField,
} from "../capabilities/schema-fields.js";
import { type ValidationResult, validateWithSchema } from "../capabilities/validation-issues.js";
import type { Money } from "../money/money.js";
import {
  type Envelope,
  type RateLimit,
  type SpendCap,
  type TimeWindow,
  WEEKDAYS,
} from "./envelope.js";
import { isKnownTimeZone, parseClockTime } from "./time-window.js";

// Tokens never live longer than 15 minutes, whatever the envelope says.
const MAX_TOKEN_LIFETIME_SECONDS = 900;
// Generous for any human-made schedule or budget, small enough to keep checks cheap.
const MAX_TIME_WINDOWS = 32;
const MAX_SPEND_CAPS = 16;

const moneyShape = { amount: stringField("a decimal string"), currency: currencyField() };

const moneySchema: z.ZodType<Money> = objectField(moneyShape).superRefine(
  checkAmountMatchesCurrency("amount"),
);

const rateLimitSchema: z.ZodType<RateLimit> = objectField({
  max_requests: integerField(1),
  window_seconds: integerField(1),
  burst: integerField(1).optional(),
}).superRefine((limit, context) => {
  if (limit.burst !== undefined && limit.burst > limit.max_requests) {
    context.addIssue({
      code: "custom",
      path: ["burst"],
      message: `must be at most max_requests (${limit.max_requests})`,
    });
  }
});

const clockTimeField = stringField('a time "HH:MM"').refine(
  (text) => parseClockTime(text) !== undefined,
  { error: 'must be a time "HH:MM" from 00:00 to 23:59' },
);

const timeWindowSchema: z.ZodType<TimeWindow> = objectField({
  days: arrayField(
    z.enum(WEEKDAYS, { error: `must be one of ${WEEKDAYS.join(", ")}` }),
    7,
  ).superRefine((days, context) => {
    const repeated = days.find((day, index) => days.indexOf(day) !== index);
    if (repeated !== undefined) {
      context.addIssue({ code: "custom", message: `repeats ${repeated}` });
    }
  }),
  start: clockTimeField,
  end: clockTimeField,
  time_zone: stringField("an IANA time zone name").refine(isKnownTimeZone, {
    error: 'must be an IANA time zone name known to this runtime, such as "Europe/Paris"',
  }),
}).superRefine((window, context) => {
  if (window.start === window.end) {
    context.addIssue({ code: "custom", path: ["end"], message: "must differ from start" });
  }
});

const spendCapSchema: z.ZodType<SpendCap> = objectField({
  ...moneyShape,
  window_seconds: integerField(1),
}).superRefine(checkAmountMatchesCurrency("amount"));

const envelopeSchema: z.ZodType<Envelope> = objectField({
  type: z.literal("envelope", { error: 'must be "envelope"' }),
  rate_limit: rateLimitSchema.optional(),
  time_windows: arrayField(timeWindowSchema, MAX_TIME_WINDOWS).optional(),
  max_transaction_amount: moneySchema.optional(),
  spend_caps: arrayField(spendCapSchema, MAX_SPEND_CAPS).optional(),
  step_up_above: moneySchema.optional(),
  max_token_lifetime_seconds: integerField(1, MAX_TOKEN_LIFETIME_SECONDS).optional(),
}).superRefine((envelope, context) => {
  const { type: _, ...limits } = envelope;
  if (Object.values(limits).every((limit) => limit === undefined)) {
    // One spelling per meaning: "no limits" is no envelope entry at all.
    context.addIssue({ code: "custom", message: "must set at least one limit" });
  }
  const caps = envelope.spend_caps ?? [];
  for (const [index, cap] of caps.entries()) {
    const first = caps.findIndex(
      (other) => other.currency === cap.currency && other.window_seconds === cap.window_seconds,
    );
    if (first !== index) {
      context.addIssue({
        code: "custom",
        path: ["spend_caps", index],
        message: `repeats the ${cap.currency} cap per ${cap.window_seconds} seconds of spend_caps[${first}]`,
      });
    }
  }
});

/** Validates an envelope entry strictly and returns a plain JSON copy in wire shape. */
export function validateEnvelope(value: unknown, path: string): ValidationResult<Envelope> {
  return validateWithSchema(envelopeSchema, value, path);
}
