import { canonicalizeJson } from "../encoding/canonical-json.js";
import type { Capability, CustomCapability, WriteCapability } from "./capability.js";
import { isResourceWithin } from "./resource.js";
import { describeDroppedLimit, findMoneyWidening, type Widening } from "./widening.js";

/**
 * The first candidate capability that no single granted capability covers (same type, resource
 * inside the granted one, limits no looser), or `undefined` when every one is covered.
 */
export function findCapabilityWidening(
  candidate: readonly Capability[],
  granted: readonly Capability[],
): Widening | undefined {
  for (const [index, capability] of candidate.entries()) {
    const path = `capabilities[${index}]`;
    const problems = granted
      .filter(
        (other) =>
          other.type === capability.type && isResourceWithin(capability.resource, other.resource),
      )
      .map((other) => findLimitWidening(capability, other, path));
    if (problems.includes(undefined)) continue;
    // Explain with the first granted capability that nearly covers this one, if any.
    return (
      problems[0] ?? {
        path: `${path}.resource`,
        reason: `no granted ${capability.type} capability includes ${capability.resource}`,
      }
    );
  }
  return undefined;
}

function findLimitWidening(
  candidate: Capability,
  granted: Capability,
  path: string,
): Widening | undefined {
  if (candidate.type === "write" && granted.type === "write")
    return findWriteWidening(candidate, granted, path);
  if (candidate.type === "transact" && granted.type === "transact") {
    return findMoneyWidening(
      { amount: candidate.max_amount, currency: candidate.currency },
      { amount: granted.max_amount, currency: granted.currency },
      { amount: `${path}.max_amount`, currency: `${path}.currency` },
    );
  }
  if (candidate.type === "custom" && granted.type === "custom")
    return findCustomWidening(candidate, granted, path);
  // read and delete have no limits beyond type and resource.
  return candidate.type === granted.type
    ? undefined
    : { path: `${path}.type`, reason: `must be ${granted.type}` };
}

function findWriteWidening(
  candidate: WriteCapability,
  granted: WriteCapability,
  path: string,
): Widening | undefined {
  if (granted.max_items !== undefined) {
    if (candidate.max_items === undefined) return describeDroppedLimit(`${path}.max_items`);
    if (candidate.max_items > granted.max_items) {
      return {
        path: `${path}.max_items`,
        reason: `${candidate.max_items} is more than the granted ${granted.max_items}`,
      };
    }
  }
  if (granted.append_only === true && candidate.append_only !== true) {
    return { path: `${path}.append_only`, reason: "must stay true: the grant is append-only" };
  }
  return undefined;
}

function findCustomWidening(
  candidate: CustomCapability,
  granted: CustomCapability,
  path: string,
): Widening | undefined {
  if (candidate.namespace !== granted.namespace) {
    return { path: `${path}.namespace`, reason: `must be ${granted.namespace}, as granted` };
  }
  if (candidate.name !== granted.name)
    return { path: `${path}.name`, reason: `must be ${granted.name}, as granted` };
  // The service interprets params; we cannot know which values are narrower, so they must match.
  if (!isSameJson(candidate.params, granted.params)) {
    return { path: `${path}.params`, reason: "must equal the granted params" };
  }
  return undefined;
}

function isSameJson(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  try {
    return canonicalizeJson(a) === canonicalizeJson(b);
  } catch {
    return false;
  }
}
