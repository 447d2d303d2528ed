import type { Money } from "../money/money.js";
import { tryParseAmount } from "../money/parse-amount.js";
import type { Capability, CapabilityType } from "./capability.js";
import { containsResource, parseResource, type Resource } from "./resource.js";

/**
 * What an agent is trying to do, as a service provider describes it from an HTTP request.
 * Fields that a capability type does not look at are ignored.
 */
export interface CapabilityRequest {
  action: CapabilityType;
  /** An exact resource (`calendar/work`), never a pattern. */
  resource: string;
  /** transact: what this payment is for. */
  amount?: Money;
  /** write: how many items the request writes; required when the capability caps items. */
  items?: number;
  /** write: required by append-only capabilities, which accept only "append". */
  operation?: "append" | "replace";
  /** custom: must equal the capability's. */
  namespace?: string;
  /** custom: must equal the capability's. */
  name?: string;
}

/**
 * The first capability that allows `request`, or `undefined`. Never throws: a malformed request
 * (pattern or invalid resource, bad amount, bad item count) matches nothing.
 */
export function findMatchingCapability(
  capabilities: readonly Capability[],
  request: CapabilityRequest,
): Capability | undefined {
  if (typeof request !== "object" || request === null) return undefined;
  const parsed = parseResource(request.resource);
  if (!parsed.ok || parsed.resource.wildcard) return undefined;
  const resource = parsed.resource;
  return capabilities.find(
    (capability) =>
      capability.type === request.action &&
      coversResource(capability.resource, resource) &&
      allowsRequest(capability, request),
  );
}

/** Whether any of `capabilities` allows `request`; see {@link findMatchingCapability}. */
export function matchesCapabilities(
  capabilities: readonly Capability[],
  request: CapabilityRequest,
): boolean {
  return findMatchingCapability(capabilities, request) !== undefined;
}

function coversResource(granted: string, requested: Resource): boolean {
  const parsed = parseResource(granted);
  return parsed.ok && containsResource(parsed.resource, requested);
}

function allowsRequest(capability: Capability, request: CapabilityRequest): boolean {
  switch (capability.type) {
    case "read":
    case "delete":
      return true;
    case "write": {
      const { items, operation } = request;
      const itemsValid = items === undefined || (Number.isSafeInteger(items) && items >= 1);
      const operationValid =
        operation === undefined || operation === "append" || operation === "replace";
      if (!itemsValid || !operationValid) return false;
      // A capped capability needs the count: a missing one must not read as "a few".
      if (
        capability.max_items !== undefined &&
        (items === undefined || items > capability.max_items)
      ) {
        return false;
      }
      return capability.append_only !== true || operation === "append";
    }
    case "transact": {
      const { amount } = request;
      if (
        typeof amount !== "object" ||
        amount === null ||
        amount.currency !== capability.currency
      ) {
        return false;
      }
      const requested = tryParseAmount(amount.amount, amount.currency);
      const limit = tryParseAmount(capability.max_amount, capability.currency);
      return requested.ok && limit.ok && requested.minor <= limit.minor;
    }
    case "custom":
      return capability.namespace === request.namespace && capability.name === request.name;
  }
}
