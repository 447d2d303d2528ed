import type { Money } from "../money/money.js";

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

export type Weekday = (typeof WEEKDAYS)[number];

/** At most `max_requests` per fixed window aligned to the Unix epoch; `burst` per 1-second window. */
export interface RateLimit {
  max_requests: number;
  window_seconds: number;
  burst?: number;
}

/**
 * Local wall-clock hours on some days. When `end` is before `start` the window wraps past
 * midnight and belongs to the day it starts on ("fri" 22:00–06:00 ends Saturday 06:00).
 */
export interface TimeWindow {
  days: Weekday[];
  /** "HH:MM", 00:00–23:59, inclusive. */
  start: string;
  /** "HH:MM", 00:00–23:59, exclusive. */
  end: string;
  /** IANA name, e.g. "Europe/Paris". */
  time_zone: string;
}

/** At most `amount` spent in `currency` per fixed window aligned to the Unix epoch. */
export interface SpendCap extends Money {
  window_seconds: number;
}

/** The behavioural limits a human sets on a grant; one `authorization_details` entry. */
export interface Envelope {
  type: "envelope";
  rate_limit?: RateLimit;
  /** The request must fall inside at least one window. */
  time_windows?: TimeWindow[];
  max_transaction_amount?: Money;
  spend_caps?: SpendCap[];
  /** Amounts strictly above this need a fresh human approval. */
  step_up_above?: Money;
  max_token_lifetime_seconds?: number;
}

/** Where an envelope mentions a currency, relative to the envelope (`spend_caps[1]`). */
export interface MoneyLimit {
  path: string;
  currency: string;
}

/**
 * Every money limit of an envelope. A currency none of them mentions may not be spent at all
 * when there is at least one: limits in EUR do not mean "and unlimited USD".
 */
export function listMoneyLimits(envelope: Envelope): MoneyLimit[] {
  const limits: MoneyLimit[] = [];
  if (envelope.max_transaction_amount !== undefined) {
    limits.push({
      path: "max_transaction_amount",
      currency: envelope.max_transaction_amount.currency,
    });
  }
  for (const [index, cap] of (envelope.spend_caps ?? []).entries()) {
    limits.push({ path: `spend_caps[${index}]`, currency: cap.currency });
  }
  if (envelope.step_up_above !== undefined) {
    limits.push({ path: "step_up_above", currency: envelope.step_up_above.currency });
  }
  return limits;
}
