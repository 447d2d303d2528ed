import type { CapabilityRisk } from "@agentauth/core";

const LABELS: Readonly<Record<CapabilityRisk, string>> = {
  low: "Low risk",
  medium: "Medium risk",
  high: "High risk",
};

/** A risk level in words as well as colour, so it never depends on colour vision. */
export function RiskBadge({ risk }: { risk: CapabilityRisk }) {
  return <span className={`badge badge-risk-${risk}`}>{LABELS[risk]}</span>;
}

const ORDER: readonly CapabilityRisk[] = ["low", "medium", "high"];

/** The highest of `risks` (low when empty). */
export function highestRisk(risks: readonly CapabilityRisk[]): CapabilityRisk {
  return risks.reduce<CapabilityRisk>(
    (highest, risk) => (ORDER.indexOf(risk) > ORDER.indexOf(highest) ? risk : highest),
    "low",
  );
}
