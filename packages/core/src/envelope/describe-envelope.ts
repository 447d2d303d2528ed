import { type Envelope, type TimeWindow, WEEKDAYS } from "./envelope.js";
import { formatCount, formatDuration, formatWindow } from "./format-units.js";
import { WEEKDAY_NAMES } from "./time-window.js";

/**
 * Plain-English lines for the approval app, one per limit, e.g. "At most 30 requests a minute
 * (bursts of up to 5 a second)", "Weekdays 09:00–17:00 (Europe/Paris)".
 */
export function describeEnvelope(envelope: Envelope): string[] {
  const lines: string[] = [];
  const rate = envelope.rate_limit;
  if (rate !== undefined) {
    const burst = rate.burst === undefined ? "" : ` (bursts of up to ${rate.burst} a second)`;
    lines.push(
      `At most ${formatCount(rate.max_requests, "request")} ${formatWindow(rate.window_seconds, "a")}${burst}`,
    );
  }
  for (const window of envelope.time_windows ?? []) lines.push(describeTimeWindow(window));
  const maximum = envelope.max_transaction_amount;
  if (maximum !== undefined)
    lines.push(`At most ${maximum.amount} ${maximum.currency} per payment`);
  for (const cap of envelope.spend_caps ?? []) {
    lines.push(`At most ${cap.amount} ${cap.currency} ${formatWindow(cap.window_seconds, "per")}`);
  }
  const threshold = envelope.step_up_above;
  if (threshold !== undefined) {
    lines.push(`Payments above ${threshold.amount} ${threshold.currency} need your approval again`);
  }
  if (envelope.max_token_lifetime_seconds !== undefined) {
    lines.push(`Tokens last at most ${formatDuration(envelope.max_token_lifetime_seconds)}`);
  }
  return lines;
}

function describeTimeWindow(window: TimeWindow): string {
  const wraps = window.end < window.start ? " the next day" : "";
  return `${describeDays(window.days)} ${window.start}–${window.end}${wraps} (${window.time_zone})`;
}

function describeDays(days: readonly string[]): string {
  const chosen = WEEKDAYS.filter((day) => days.includes(day));
  const key = chosen.join(",");
  if (key === "mon,tue,wed,thu,fri") return "Weekdays";
  if (key === "sat,sun") return "Weekends";
  if (chosen.length === WEEKDAYS.length) return "Every day";
  return chosen.map((day) => WEEKDAY_NAMES[WEEKDAYS.indexOf(day)]).join(", ");
}
