import {
  type AuthorizationDetail,
  type AuthorizationDetails,
  type Capability,
  canonicalizeJson,
  type Envelope,
  getCurrencyMinorUnits,
  isNarrowerOrEqual,
  type JsonValue,
  parseAuthorizationDetails,
  toAuthorizationDetails,
  tryParseAmount,
  WEEKDAYS,
  type Weekday,
} from "@agentauth/core";

// What the human may change before approving, and how a change becomes the final grant. Every
// editable value can only go down (or a day, a capability, a lifetime be taken away); the result
// is checked once more with core's `isNarrowerOrEqual`, the rule the registry applies too.

/** One requested capability as the human left it. Limits are kept as typed. */
export interface CapabilityDraft {
  readonly included: boolean;
  /** `transact`: most per payment. */
  readonly maxAmount?: string;
  /** `write` with `max_items`: most items per request. */
  readonly maxItems?: string;
  /** `write`: appends only. Can be switched on, never off when the agent asked for it. */
  readonly appendOnly?: boolean;
}

/** The envelope as the human left it; members mirror the requested envelope's. */
export interface EnvelopeDraft {
  readonly maxRequests?: string;
  readonly burst?: string;
  /** Per requested time window, the days kept. */
  readonly timeWindowDays: readonly (readonly Weekday[])[];
  readonly maxTransactionAmount?: string;
  readonly spendCaps: readonly string[];
  readonly stepUpAbove?: string;
  readonly maxTokenLifetimeSeconds?: string;
}

export interface GrantDraft {
  readonly capabilities: readonly CapabilityDraft[];
  readonly envelope: EnvelopeDraft | undefined;
  readonly lifetimeSeconds: number;
}

/** Field key → what is wrong with it, in words. Keys are {@link FIELD}'s. */
export type DraftProblems = Readonly<Record<string, string>>;

export type FinalGrantResult =
  | {
      readonly ok: true;
      readonly authorizationDetails: AuthorizationDetail[];
      readonly authorization: AuthorizationDetails;
      readonly grantLifetime: number;
      /** Whether anything differs from what the agent asked. */
      readonly narrowed: boolean;
    }
  | { readonly ok: false; readonly problems: DraftProblems };

/** Keys of the editable fields, shared by the editor (for error ids) and the checks here. */
export const FIELD = {
  capabilities: "capabilities",
  grant: "grant",
  lifetime: "lifetime",
  maxAmount: (index: number) => `capabilities.${index}.max_amount`,
  maxItems: (index: number) => `capabilities.${index}.max_items`,
  maxRequests: "envelope.rate_limit.max_requests",
  burst: "envelope.rate_limit.burst",
  days: (index: number) => `envelope.time_windows.${index}.days`,
  maxTransactionAmount: "envelope.max_transaction_amount",
  spendCap: (index: number) => `envelope.spend_caps.${index}`,
  stepUpAbove: "envelope.step_up_above",
  maxTokenLifetime: "envelope.max_token_lifetime_seconds",
} as const;

/** The draft that changes nothing: exactly what the agent asked for. */
export function initialDraft(
  requested: AuthorizationDetails,
  requestedLifetime: number,
): GrantDraft {
  const envelope = requested.envelope;
  return {
    capabilities: requested.capabilities.map((capability) => {
      switch (capability.type) {
        case "transact":
          return { included: true, maxAmount: capability.max_amount };
        case "write":
          return {
            included: true,
            ...(capability.max_items === undefined
              ? {}
              : { maxItems: String(capability.max_items) }),
            appendOnly: capability.append_only === true,
          };
        default:
          return { included: true };
      }
    }),
    envelope:
      envelope === undefined
        ? undefined
        : {
            ...(envelope.rate_limit === undefined
              ? {}
              : {
                  maxRequests: String(envelope.rate_limit.max_requests),
                  ...(envelope.rate_limit.burst === undefined
                    ? {}
                    : { burst: String(envelope.rate_limit.burst) }),
                }),
            timeWindowDays: (envelope.time_windows ?? []).map((window) => [...window.days]),
            ...(envelope.max_transaction_amount === undefined
              ? {}
              : { maxTransactionAmount: envelope.max_transaction_amount.amount }),
            spendCaps: (envelope.spend_caps ?? []).map((cap) => cap.amount),
            ...(envelope.step_up_above === undefined
              ? {}
              : { stepUpAbove: envelope.step_up_above.amount }),
            ...(envelope.max_token_lifetime_seconds === undefined
              ? {}
              : { maxTokenLifetimeSeconds: String(envelope.max_token_lifetime_seconds) }),
          },
    lifetimeSeconds: requestedLifetime,
  };
}

/**
 * Turns the human's draft into the final grant, or says which fields are wrong. Never returns a
 * grant wider than `requested` or longer than `requestedLifetime`.
 */
export function buildFinalGrant(
  requested: AuthorizationDetails,
  requestedLifetime: number,
  draft: GrantDraft,
): FinalGrantResult {
  const problems: Record<string, string> = {};
  const capabilities: Capability[] = [];

  requested.capabilities.forEach((asked, index) => {
    const edit = draft.capabilities[index];
    if (edit === undefined || !edit.included) return;
    switch (asked.type) {
      case "transact": {
        const amount = lowerAmount(edit.maxAmount ?? "", asked.max_amount, asked.currency);
        if (!amount.ok) problems[FIELD.maxAmount(index)] = amount.problem;
        else capabilities.push({ ...asked, max_amount: amount.value });
        return;
      }
      case "write": {
        const next: Capability = { type: "write", resource: asked.resource };
        if (asked.max_items !== undefined) {
          const items = lowerInteger(edit.maxItems ?? "", 1, asked.max_items);
          if (!items.ok) {
            problems[FIELD.maxItems(index)] = items.problem;
            return;
          }
          next.max_items = items.value;
        }
        if (asked.append_only === true || edit.appendOnly === true) next.append_only = true;
        capabilities.push(next);
        return;
      }
      default:
        capabilities.push(asked);
    }
  });
  if (capabilities.length === 0 && Object.keys(problems).length === 0) {
    problems[FIELD.capabilities] = "Keep at least one capability, or deny the request instead.";
  }

  const envelope =
    requested.envelope === undefined || draft.envelope === undefined
      ? undefined
      : narrowEnvelope(requested.envelope, draft.envelope, problems);

  const lifetime = draft.lifetimeSeconds;
  if (!Number.isInteger(lifetime) || lifetime < 60 || lifetime > requestedLifetime) {
    problems[FIELD.lifetime] = "Choose how long the grant lasts: at most what the agent asked.";
  }
  if (Object.keys(problems).length > 0) return { ok: false, problems };

  const authorization: AuthorizationDetails = { capabilities, envelope };
  const authorizationDetails = toAuthorizationDetails(authorization);
  try {
    // The registry's own parser and subset rule: what reaches it is valid and never wider.
    parseAuthorizationDetails(authorizationDetails);
  } catch (error) {
    return {
      ok: false,
      problems: { [FIELD.grant]: error instanceof Error ? error.message : "Invalid grant" },
    };
  }
  if (!isNarrowerOrEqual(authorization, requested)) {
    return {
      ok: false,
      problems: { [FIELD.grant]: "These values would give more than the agent asked for." },
    };
  }
  const narrowed =
    lifetime !== requestedLifetime ||
    canonicalizeJson(authorizationDetails as unknown as JsonValue) !==
      canonicalizeJson(toAuthorizationDetails(requested) as unknown as JsonValue);
  return { ok: true, authorizationDetails, authorization, grantLifetime: lifetime, narrowed };
}

function narrowEnvelope(
  asked: Envelope,
  edit: EnvelopeDraft,
  problems: Record<string, string>,
): Envelope {
  const envelope: Envelope = { type: "envelope" };
  if (asked.rate_limit !== undefined) {
    const maxRequests = lowerInteger(edit.maxRequests ?? "", 1, asked.rate_limit.max_requests);
    if (!maxRequests.ok) problems[FIELD.maxRequests] = maxRequests.problem;
    const rate: NonNullable<Envelope["rate_limit"]> = {
      max_requests: maxRequests.ok ? maxRequests.value : asked.rate_limit.max_requests,
      window_seconds: asked.rate_limit.window_seconds,
    };
    if (asked.rate_limit.burst !== undefined) {
      const burst = lowerInteger(edit.burst ?? "", 1, asked.rate_limit.burst);
      if (!burst.ok) problems[FIELD.burst] = burst.problem;
      else if (maxRequests.ok && burst.value > maxRequests.value) {
        problems[FIELD.burst] = "A burst cannot be more than the requests allowed per window.";
      } else rate.burst = burst.value;
    }
    envelope.rate_limit = rate;
  }
  if (asked.time_windows !== undefined) {
    envelope.time_windows = asked.time_windows.map((window, index) => {
      const kept = edit.timeWindowDays[index] ?? window.days;
      // Only days the agent asked for, in week order.
      const days = WEEKDAYS.filter((day) => kept.includes(day) && window.days.includes(day));
      if (days.length === 0) problems[FIELD.days(index)] = "Keep at least one day.";
      return { ...window, days: days.length === 0 ? window.days : days };
    });
  }
  if (asked.max_transaction_amount !== undefined) {
    const { currency, amount } = asked.max_transaction_amount;
    const lowered = lowerAmount(edit.maxTransactionAmount ?? "", amount, currency);
    if (!lowered.ok) problems[FIELD.maxTransactionAmount] = lowered.problem;
    envelope.max_transaction_amount = { currency, amount: lowered.ok ? lowered.value : amount };
  }
  if (asked.spend_caps !== undefined) {
    envelope.spend_caps = asked.spend_caps.map((cap, index) => {
      const lowered = lowerAmount(edit.spendCaps[index] ?? "", cap.amount, cap.currency);
      if (!lowered.ok) problems[FIELD.spendCap(index)] = lowered.problem;
      return { ...cap, amount: lowered.ok ? lowered.value : cap.amount };
    });
  }
  if (asked.step_up_above !== undefined) {
    const { currency, amount } = asked.step_up_above;
    const lowered = lowerAmount(edit.stepUpAbove ?? "", amount, currency);
    if (!lowered.ok) problems[FIELD.stepUpAbove] = lowered.problem;
    envelope.step_up_above = { currency, amount: lowered.ok ? lowered.value : amount };
  }
  if (asked.max_token_lifetime_seconds !== undefined) {
    const lowered = lowerInteger(
      edit.maxTokenLifetimeSeconds ?? "",
      1,
      asked.max_token_lifetime_seconds,
    );
    if (!lowered.ok) problems[FIELD.maxTokenLifetime] = lowered.problem;
    envelope.max_token_lifetime_seconds = lowered.ok
      ? lowered.value
      : asked.max_token_lifetime_seconds;
  }
  return envelope;
}

type Lowered<T> = { ok: true; value: T } | { ok: false; problem: string };

/** An integer the human typed, from `min` to `max` (what was asked). */
function lowerInteger(text: string, min: number, max: number): Lowered<number> {
  const trimmed = text.trim();
  if (!/^[0-9]{1,15}$/.test(trimmed)) return { ok: false, problem: "Enter a whole number." };
  const value = Number(trimmed);
  if (value > max)
    return { ok: false, problem: `At most ${max}: you cannot allow more than asked.` };
  if (value < min) return { ok: false, problem: `At least ${min}.` };
  return { ok: true, value };
}

/**
 * An amount the human typed ("30", "30.5", "30.50") as the wire decimal of `currency`, no more
 * than `max` (what was asked).
 */
export function lowerAmount(text: string, max: string, currency: string): Lowered<string> {
  const normalized = normalizeAmount(text, currency);
  if (normalized === undefined) {
    const digits = getCurrencyMinorUnits(currency) ?? 2;
    return {
      ok: false,
      problem: `Enter an amount in ${currency}${digits === 0 ? " (whole units)" : ` with at most ${digits} decimals`}.`,
    };
  }
  const value = tryParseAmount(normalized, currency);
  const limit = tryParseAmount(max, currency);
  if (!value.ok || !limit.ok) return { ok: false, problem: `Enter an amount in ${currency}.` };
  if (value.minor > limit.minor) {
    return { ok: false, problem: `At most ${max} ${currency}: you cannot allow more than asked.` };
  }
  return { ok: true, value: normalized };
}

/** "30" → "30.00" for EUR, "007.5" → "7.50"; `undefined` when it is not an amount at all. */
export function normalizeAmount(text: string, currency: string): string | undefined {
  const digits = getCurrencyMinorUnits(currency);
  if (digits === undefined) return undefined;
  const match = /^([0-9]{1,15})(?:\.([0-9]*))?$/.exec(text.trim());
  if (match === null) return undefined;
  const whole = (match[1] ?? "").replace(/^0+(?=[0-9])/, "");
  const fraction = match[2] ?? "";
  if (fraction.length > digits) return undefined;
  return digits === 0 ? whole : `${whole}.${fraction.padEnd(digits, "0")}`;
}

/** Lifetimes the human can choose: what was asked and shorter round values. */
export function lifetimeChoices(requestedLifetime: number): number[] {
  const presets = [30 * 86_400, 7 * 86_400, 86_400, 8 * 3_600, 3_600, 15 * 60];
  return [
    requestedLifetime,
    ...presets.filter((seconds) => seconds < requestedLifetime && seconds >= 60),
  ];
}

/** Whether a grant lets the agent pay or delete: those need a second confirmation. */
export function isHighRisk(authorization: AuthorizationDetails): boolean {
  return authorization.capabilities.some(
    (capability) => capability.type === "transact" || capability.type === "delete",
  );
}
