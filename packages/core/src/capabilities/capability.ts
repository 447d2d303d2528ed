import type { JsonValue } from "../encoding/canonical-json.js";

/** The capability types an `authorization_details` entry can have, besides `envelope`. */
export const CAPABILITY_TYPES = ["read", "write", "delete", "transact", "custom"] as const;

export type CapabilityType = (typeof CAPABILITY_TYPES)[number];

/** Read `resource` (exact, or every resource below a `…/*` pattern). */
export interface ReadCapability {
  type: "read";
  resource: string;
}

/** Create or change `resource`; optionally capped in items per request, or append-only. */
export interface WriteCapability {
  type: "write";
  resource: string;
  max_items?: number;
  append_only?: boolean;
}

/** Delete `resource`. */
export interface DeleteCapability {
  type: "delete";
  resource: string;
}

/** Pay `resource` at most `max_amount` (a decimal string in `currency`'s minor units) per payment. */
export interface TransactCapability {
  type: "transact";
  resource: string;
  max_amount: string;
  currency: string;
}

/** A service-specific action `namespace`/`name` with fixed `params` the service interprets. */
export interface CustomCapability {
  type: "custom";
  resource: string;
  namespace: string;
  name: string;
  params?: { [key: string]: JsonValue };
}

/** One capability, as it travels in `authorization_details` (RFC 9396). */
export type Capability =
  | ReadCapability
  | WriteCapability
  | DeleteCapability
  | TransactCapability
  | CustomCapability;
