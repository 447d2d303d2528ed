/**
 * `Retry-After` (RFC 9110 §10.2.3) as whole seconds from `now`: delay-seconds, or an HTTP-date
 * (a date in the past is 0). `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text);
  // HTTP-dates name a weekday and a month (IMF-fixdate, RFC 850, asctime); nothing else is one.
  if (!/^[A-Za-z]{3,9}, ?\d|^[A-Za-z]{3} [A-Za-z]{3} /.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
