/** One of the example service providers `npm start` runs, as the platform registers it. */
export interface DemoServiceProvider {
  /** Its id at the registry (the tokens' `aud`): a slug, since it is reached over plain http. */
  readonly id: string;
  readonly name: string;
  /** The capabilities it accepts at most (protocol.md §2.1). */
  readonly ceiling: readonly Readonly<Record<string, unknown>>[];
  /** Prefix of its environment variables (`EXCHANGE_PORT`, …). */
  readonly envPrefix: string;
  readonly defaultPort: number;
  /** Its API key file's name in `<data dir>/examples/`. */
  readonly keyFileName: string;
}

export const EXCHANGE: DemoServiceProvider = Object.freeze({
  id: "demo-exchange",
  name: "Exchange (example)",
  ceiling: Object.freeze([
    Object.freeze({ type: "write", resource: "exchange/*" }),
    Object.freeze({ type: "read", resource: "exchange/*" }),
  ]),
  envPrefix: "EXCHANGE",
  defaultPort: 4200,
  keyFileName: "demo-exchange.api-key",
});

export const PAYMENTS: DemoServiceProvider = Object.freeze({
  id: "demo-payments",
  name: "Payments (example)",
  ceiling: Object.freeze([
    Object.freeze({
      type: "transact",
      resource: "merchant/*",
      max_amount: "500.00",
      currency: "EUR",
    }),
  ]),
  envPrefix: "PAYMENTS",
  defaultPort: 4300,
  keyFileName: "demo-payments.api-key",
});

/** The service providers of examples/, in the order `npm start` lists them. */
export const DEMO_SERVICE_PROVIDERS: readonly DemoServiceProvider[] = Object.freeze([
  EXCHANGE,
  PAYMENTS,
]);

/** Where the platform leaves the examples' API key files, under the data directory. */
export const EXAMPLES_KEY_DIR = "examples";

/**
 * What the demo agent asks its human for at the payments example: pay ACME at most 50.00 EUR
 * (the capability), 40.00 EUR per transaction, 50.00 EUR a day, a fresh approval above 25.00 EUR.
 */
export const DEMO_PAYMENT_REQUEST = Object.freeze({
  serviceProvider: PAYMENTS.id,
  capabilities: [
    { type: "transact" as const, resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
  ],
  envelope: {
    max_transaction_amount: { amount: "40.00", currency: "EUR" },
    spend_caps: [{ amount: "50.00", currency: "EUR", window_seconds: 86_400 }],
    step_up_above: { amount: "25.00", currency: "EUR" },
  },
});
