import { canonicalizeJson } from "../encoding/canonical-json.js";
import { formatCount } from "../envelope/format-units.js";
import type { Capability } from "./capability.js";
import { parseResource } from "./resource.js";

export type CapabilityRisk = "low" | "medium" | "high";

export interface DescribeCapabilityResult {
  text: string;
  risk: CapabilityRisk;
}

const RISK_BY_TYPE: Readonly<Record<Capability["type"], CapabilityRisk>> = {
  read: "low",
  write: "medium",
  delete: "high",
  transact: "high",
  custom: "medium",
};

/**
 * Plain English and a risk level for the approval app: "Read everything under calendar/"
 * (low), "Make payments to merchant/acme of at most 50.00 EUR each" (high). A `*` resource,
 * which covers everything, is always high risk.
 */
export function describeCapability(capability: Capability): DescribeCapabilityResult {
  const parsed = parseResource(capability.resource);
  const everything = parsed.ok && parsed.resource.wildcard && parsed.resource.prefix.length === 0;
  return {
    text: describeText(capability),
    risk: everything ? "high" : RISK_BY_TYPE[capability.type],
  };
}

function describeText(capability: Capability): string {
  switch (capability.type) {
    case "read":
      return `Read ${describeResource(capability.resource, "everything")}`;
    case "write": {
      const limits = [
        ...(capability.append_only === true ? ["append only"] : []),
        ...(capability.max_items === undefined
          ? []
          : [`at most ${formatCount(capability.max_items, "item")} per request`]),
      ];
      const suffix = limits.length === 0 ? "" : ` (${limits.join(", ")})`;
      return `Write to ${describeResource(capability.resource, "everything")}${suffix}`;
    }
    case "delete":
      return `Delete ${describeResource(capability.resource, "everything")}`;
    case "transact":
      return `Make payments to ${describeResource(capability.resource, "anyone")} of at most ${capability.max_amount} ${capability.currency} each`;
    case "custom": {
      const params =
        capability.params === undefined
          ? ""
          : ` with parameters ${canonicalizeJson(capability.params)}`;
      return `Perform "${capability.name}" (${capability.namespace}) on ${describeResource(capability.resource, "everything")}${params}`;
    }
  }
}

// "calendar/work", "everything under calendar/", or `all` for `*`.
function describeResource(resource: string, all: "everything" | "anyone"): string {
  const parsed = parseResource(resource);
  if (!parsed.ok || !parsed.resource.wildcard) return resource;
  if (parsed.resource.prefix.length === 0) return all;
  return `${all} under ${parsed.resource.prefix.join("/")}/`;
}
