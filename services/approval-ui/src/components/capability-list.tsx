import { type Capability, describeCapability } from "@agentauth/core";
import type { DescribedCapability } from "../api/types.js";
import { RiskBadge } from "./risk-badge.js";

/**
 * Capabilities in plain English, each with its risk. Takes the registry's own descriptions
 * (`GET /api/grant-requests/{id}`) or raw capabilities, described with the same core function.
 */
export function CapabilityList({
  capabilities,
  label = "Capabilities",
}: {
  capabilities: readonly (DescribedCapability | Capability)[];
  label?: string;
}) {
  if (capabilities.length === 0) return <p className="muted">No capabilities.</p>;
  return (
    <ul className="capability-list" aria-label={label}>
      {capabilities.map((item, index) => {
        const described =
          "capability" in item ? item : { capability: item, ...describeCapability(item) };
        return (
          // Entries of a grant are unique, but their order is all the identity they have.
          // biome-ignore lint/suspicious/noArrayIndexKey: see above
          <li key={index} className="capability">
            <RiskBadge risk={described.risk} />
            <span className="capability-text">{described.text}</span>
          </li>
        );
      })}
    </ul>
  );
}
