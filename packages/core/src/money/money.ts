/** A money value on the wire: `{ "amount": "50.00", "currency": "EUR" }`. */
export interface Money {
  /** Decimal string with exactly the currency's ISO 4217 minor-unit digits. */
  amount: string;
  /** Active ISO 4217 code. */
  currency: string;
}
