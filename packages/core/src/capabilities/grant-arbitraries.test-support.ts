// fast-check arbitraries for property tests of capabilities, envelopes and narrowing. Small
// vocabularies on purpose: generated grants then overlap, contain and narrow each other often.
import fc from "fast-check";
import { canonicalizeJson } from "../encoding/canonical-json.js";
import { type Envelope, type SpendCap, type TimeWindow, WEEKDAYS } from "../envelope/envelope.js";
import { formatAmount } from "../money/format-amount.js";
import type { Money } from "../money/money.js";
import { tryParseAmount } from "../money/parse-amount.js";
import {
  type AuthorizationDetails,
  parseAuthorizationDetails,
  toAuthorizationDetails,
} from "./authorization-details.js";
import type { Capability } from "./capability.js";
import type { CapabilityRequest } from "./match-capability.js";

const segment = fc.constantFrom("a", "b", "c");
export const exactResourceArb = fc
  .array(segment, { minLength: 1, maxLength: 3 })
  .map((segments) => segments.join("/"));
const patternArb = fc
  .array(segment, { maxLength: 2 })
  .map((segments) => [...segments, "*"].join("/"));
export const resourceArb = fc.oneof(exactResourceArb, patternArb);

const currencyArb = fc.constantFrom("EUR", "JPY");
export function moneyArb(maxMinor: number): fc.Arbitrary<Money> {
  return fc
    .tuple(currencyArb, fc.integer({ min: 0, max: maxMinor }))
    .map(([currency, minor]) => ({ amount: formatAmount(minor, currency), currency }));
}

export const capabilityArb: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ type: fc.constant("read"), resource: resourceArb }, { noNullPrototype: true }),
  fc.record(
    {
      type: fc.constant("write"),
      resource: resourceArb,
      max_items: fc.integer({ min: 1, max: 4 }),
      append_only: fc.boolean(),
    },
    { requiredKeys: ["type", "resource"], noNullPrototype: true },
  ),
  fc.record({ type: fc.constant("delete"), resource: resourceArb }, { noNullPrototype: true }),
  fc.tuple(resourceArb, moneyArb(6)).map(([resource, money]) => ({
    type: "transact" as const,
    resource,
    max_amount: money.amount,
    currency: money.currency,
  })),
  fc.record(
    {
      type: fc.constant("custom"),
      resource: resourceArb,
      namespace: fc.constantFrom("com.example", "org.acme"),
      name: fc.constantFrom("deploy", "build"),
      params: fc.constantFrom({ env: "prod" }, { env: "dev" }),
    },
    { requiredKeys: ["type", "resource", "namespace", "name"], noNullPrototype: true },
  ),
);

export const capabilityRequestArb: fc.Arbitrary<CapabilityRequest> = fc.record(
  {
    action: fc.constantFrom("read", "write", "delete", "transact", "custom"),
    resource: fc.oneof(
      exactResourceArb,
      exactResourceArb.map((resource) => `${resource}/*`),
    ),
    amount: moneyArb(8),
    items: fc.integer({ min: 1, max: 6 }),
    operation: fc.constantFrom("append", "replace"),
    namespace: fc.constantFrom("com.example", "org.acme"),
    name: fc.constantFrom("deploy", "build"),
  },
  { requiredKeys: ["action", "resource"], noNullPrototype: true },
);

/** Requests aimed at `capabilities` (same action, resources inside them), or anything at all. */
export function requestNearArb(
  capabilities: readonly Capability[],
): fc.Arbitrary<CapabilityRequest> {
  const near = fc.constantFrom(...capabilities).chain((capability) =>
    fc.record(
      {
        action: fc.constant(capability.type),
        resource: capability.resource.endsWith("*")
          ? exactResourceArb.map((below) => `${capability.resource.slice(0, -1)}${below}`)
          : fc.oneof(fc.constant(capability.resource), exactResourceArb),
        amount: moneyArb(8),
        items: fc.integer({ min: 1, max: 5 }),
        operation: fc.constantFrom("append", "replace"),
        namespace: fc.constantFrom("com.example", "org.acme"),
        name: fc.constantFrom("deploy", "build"),
      },
      { requiredKeys: ["action", "resource"], noNullPrototype: true },
    ),
  );
  return fc.oneof({ arbitrary: near, weight: 4 }, { arbitrary: capabilityRequestArb, weight: 1 });
}

const clockTimeArb = fc.constantFrom("00:00", "06:00", "09:00", "17:00", "22:00");
const timeWindowArb: fc.Arbitrary<TimeWindow> = fc
  .record(
    {
      days: fc.subarray([...WEEKDAYS], { minLength: 1 }),
      start: clockTimeArb,
      end: clockTimeArb,
      time_zone: fc.constantFrom("UTC", "Europe/Paris"),
    },
    { noNullPrototype: true },
  )
  .filter((window) => window.start !== window.end);

// Includes windows that are not multiples of each other (2 and 3, 60 and 90).
const windowSecondsArb = fc.constantFrom(1, 2, 3, 4, 60, 90);

const spendCapsArb: fc.Arbitrary<SpendCap[]> = fc.uniqueArray(
  fc
    .tuple(moneyArb(20), windowSecondsArb)
    .map(([money, window_seconds]) => ({ ...money, window_seconds })),
  { minLength: 1, maxLength: 3, selector: (cap) => `${cap.currency}:${cap.window_seconds}` },
);

// Each limit present about half the time (fc.record's optional keys are present far more often).
const sometimes = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.option(arbitrary, { nil: undefined, freq: 2 });

export const envelopeArb: fc.Arbitrary<Envelope> = fc
  .record(
    {
      rate_limit: sometimes(
        fc
          .record(
            {
              max_requests: fc.integer({ min: 1, max: 4 }),
              window_seconds: windowSecondsArb,
              burst: fc.integer({ min: 1, max: 4 }),
            },
            { requiredKeys: ["max_requests", "window_seconds"], noNullPrototype: true },
          )
          .filter((limit) => limit.burst === undefined || limit.burst <= limit.max_requests),
      ),
      time_windows: sometimes(fc.array(timeWindowArb, { minLength: 1, maxLength: 2 })),
      max_transaction_amount: sometimes(moneyArb(6)),
      spend_caps: sometimes(spendCapsArb),
      step_up_above: sometimes(moneyArb(6)),
      max_token_lifetime_seconds: sometimes(fc.constantFrom(60, 300, 900)),
    },
    { noNullPrototype: true },
  )
  .map((limits) => {
    const envelope: Envelope = { type: "envelope" };
    for (const [key, value] of Object.entries(limits)) {
      if (value !== undefined) Object.assign(envelope, { [key]: value });
    }
    return envelope;
  })
  .filter((envelope) => Object.keys(envelope).length > 1);

export const detailsArb: fc.Arbitrary<AuthorizationDetails> = fc.record(
  {
    capabilities: fc.uniqueArray(capabilityArb, {
      minLength: 1,
      maxLength: 3,
      selector: canonicalizeJson,
    }),
    envelope: fc.option(envelopeArb, { nil: undefined }),
  },
  { noNullPrototype: true },
);

const ENVELOPE_LIMITS = [
  "rate_limit",
  "time_windows",
  "max_transaction_amount",
  "spend_caps",
  "step_up_above",
  "max_token_lifetime_seconds",
] as const;

type EnvelopeLimit = (typeof ENVELOPE_LIMITS)[number];

/**
 * Valid grants that mostly resemble `base`: capabilities kept, tweaked (resource a level up or
 * down, limits nudged) or made up; each envelope limit kept, tweaked, replaced or dropped. Many
 * come out narrower, some only just wider: what narrowing must tell apart.
 */
export function variantArb(base: AuthorizationDetails): fc.Arbitrary<AuthorizationDetails> {
  const capability = fc.oneof(
    { arbitrary: fc.constantFrom(...base.capabilities), weight: 4 },
    { arbitrary: fc.constantFrom(...base.capabilities).chain(tweakCapabilityArb), weight: 3 },
    { arbitrary: capabilityArb, weight: 1 },
  );
  const limits = Object.fromEntries(
    ENVELOPE_LIMITS.map((key) => [key, envelopeLimitVariantArb(key, base.envelope?.[key])]),
  ) as { [Key in EnvelopeLimit]: fc.Arbitrary<Envelope[Key]> };
  return fc
    .record({
      capabilities: fc.uniqueArray(capability, {
        minLength: 1,
        maxLength: 3,
        selector: canonicalizeJson,
      }),
      limits: fc.record(limits),
      dropEnvelope: fc.integer({ min: 0, max: 19 }).map((roll) => roll === 0),
    })
    .map(({ capabilities, limits: chosen, dropEnvelope }) => {
      const envelope: Envelope = { type: "envelope" };
      for (const [key, value] of Object.entries(chosen)) {
        if (value !== undefined) Object.assign(envelope, { [key]: value });
      }
      const hasLimits = Object.keys(envelope).length > 1;
      return { capabilities, envelope: dropEnvelope || !hasLimits ? undefined : envelope };
    })
    .filter(isValid);
}

function isValid(details: AuthorizationDetails): boolean {
  try {
    parseAuthorizationDetails(toAuthorizationDetails(details));
    return true;
  } catch {
    return false;
  }
}

function envelopeLimitVariantArb<Key extends EnvelopeLimit>(
  key: Key,
  value: Envelope[Key] | undefined,
): fc.Arbitrary<Envelope[Key] | undefined> {
  const other = envelopeArb.map((envelope) => envelope[key]);
  const options: fc.WeightedArbitrary<Envelope[Key] | undefined>[] = [
    { arbitrary: fc.constant(value), weight: 8 },
    { arbitrary: other, weight: 2 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  ];
  if (value !== undefined) options.push({ arbitrary: tweakLimitArb(key, value), weight: 4 });
  return fc.oneof(...options);
}

function tweakLimitArb<Key extends EnvelopeLimit>(
  key: Key,
  value: Envelope[Key],
): fc.Arbitrary<Envelope[Key]> {
  return tweakAnyLimitArb(key, value) as fc.Arbitrary<Envelope[Key]>;
}

function tweakAnyLimitArb(key: EnvelopeLimit, value: unknown): fc.Arbitrary<unknown> {
  switch (key) {
    case "rate_limit": {
      const limit = value as NonNullable<Envelope["rate_limit"]>;
      return fc
        .record(
          {
            max_requests: nudge(limit.max_requests),
            window_seconds: windowVariantArb(limit.window_seconds),
            burst: fc.constantFrom(
              limit.burst,
              undefined,
              1,
              (limit.burst ?? limit.max_requests) + 1,
            ),
          },
          { noNullPrototype: true },
        )
        .map(({ burst, ...rest }) => (burst === undefined ? rest : { ...rest, burst }));
    }
    case "time_windows":
      return fc.tuple(
        ...(value as TimeWindow[]).map((window) =>
          fc.record(
            {
              days: fc.subarray(window.days, { minLength: 1 }),
              start: fc.constantFrom(window.start, "00:00", "09:00", "22:00"),
              end: fc.constantFrom(window.end, "06:00", "17:00"),
              time_zone: fc.constantFrom(window.time_zone, "UTC", "Europe/Paris"),
            },
            { noNullPrototype: true },
          ),
        ),
      );
    case "max_transaction_amount":
    case "step_up_above":
      return tweakMoneyArb(value as Money);
    case "spend_caps":
      return fc.tuple(
        ...(value as SpendCap[]).map((cap) =>
          fc
            .tuple(tweakMoneyArb(cap), windowVariantArb(cap.window_seconds))
            .map(([money, window_seconds]) => ({ ...money, window_seconds })),
        ),
      );
    case "max_token_lifetime_seconds":
      return nudge(value as number);
  }
}

/** Whole multiples of a window (narrower when the limit is kept) and near misses that are not. */
export function windowVariantArb(seconds: number): fc.Arbitrary<number> {
  return fc.constantFrom(
    seconds,
    seconds * 2,
    seconds * 3,
    seconds + 1,
    Math.ceil(seconds * 1.5),
    1,
  );
}

function nudge(value: number): fc.Arbitrary<number> {
  return fc.constantFrom(value, value - 1, value + 1).filter((nudged) => nudged >= 1);
}

/** Minor units of a money value known to be valid. */
export function minorOf(money: Money): number {
  const parsed = tryParseAmount(money.amount, money.currency);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.minor;
}

function tweakMoneyArb(money: Money): fc.Arbitrary<Money> {
  const minor = minorOf(money);
  return fc
    .tuple(
      fc.constantFrom(minor, minor - 1, minor + 1),
      fc.constantFrom(money.currency, "EUR", "JPY"),
    )
    .filter(([nudged]) => nudged >= 0)
    .map(([nudged, currency]) => ({ amount: formatAmount(nudged, currency), currency }));
}

function tweakCapabilityArb(capability: Capability): fc.Arbitrary<Capability> {
  const resource = tweakResourceArb(capability.resource);
  switch (capability.type) {
    case "read":
    case "delete":
      return resource.map((tweaked) => ({ ...capability, resource: tweaked }));
    case "write":
      return fc
        .record(
          {
            resource,
            max_items: fc.constantFrom(
              capability.max_items,
              undefined,
              1,
              (capability.max_items ?? 3) + 1,
            ),
            append_only: fc.constantFrom(capability.append_only, undefined, true, false),
          },
          { noNullPrototype: true },
        )
        .map(({ resource: tweaked, max_items, append_only }) => ({
          type: "write",
          resource: tweaked,
          ...(max_items === undefined ? {} : { max_items }),
          ...(append_only === undefined ? {} : { append_only }),
        }));
    case "transact":
      return fc
        .tuple(
          resource,
          tweakMoneyArb({ amount: capability.max_amount, currency: capability.currency }),
        )
        .map(([tweaked, money]) => ({
          type: "transact",
          resource: tweaked,
          max_amount: money.amount,
          currency: money.currency,
        }));
    case "custom":
      return fc
        .tuple(
          resource,
          fc.constantFrom(capability.params, undefined, { env: "prod" }, { env: "dev" }),
        )
        .map(([tweaked, params]) => {
          const { params: _, ...rest } = capability;
          return params === undefined
            ? { ...rest, resource: tweaked }
            : { ...rest, resource: tweaked, params };
        });
  }
}

// A level up or down: "a/b" may become "a/*", "a/b/c" or "a/b/*"; "a/*" may become "*" or "a/c".
function tweakResourceArb(resource: string): fc.Arbitrary<string> {
  const segments = resource.split("/");
  const literal = segments.filter((segment) => segment !== "*");
  const options = [
    resource,
    [...literal, "c"].join("/"),
    [...literal, "*"].join("/"),
    [...literal.slice(0, -1), "*"].join("/"),
  ];
  return fc.constantFrom(...options);
}
