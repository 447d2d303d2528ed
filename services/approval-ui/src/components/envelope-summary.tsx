import { describeEnvelope, type Envelope } from "@agentauth/core";
import type { DescribedEnvelope } from "../api/types.js";

/**
 * The behavioural envelope in plain English, one limit a line ("At most 30 requests a minute",
 * "Weekdays 09:00–17:00 (Europe/Paris)"). No envelope means no limits beyond the capabilities.
 */
export function EnvelopeSummary({
  envelope,
  label = "Limits",
}: {
  envelope: DescribedEnvelope | Envelope | null | undefined;
  label?: string;
}) {
  const lines =
    envelope === null || envelope === undefined
      ? []
      : "lines" in envelope
        ? envelope.lines
        : describeEnvelope(envelope);
  if (lines.length === 0) {
    return <p className="muted">No limits on rate, time or spending beyond the capabilities.</p>;
  }
  return (
    <ul className="envelope-lines" aria-label={label}>
      {lines.map((line) => (
        <li key={line}>{line}</li>
      ))}
    </ul>
  );
}
