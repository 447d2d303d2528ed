/**
 * Active ISO 4217 currencies (List One, as of 2026-01) and their minor-unit digits. Codes whose
 * minor unit is "N.A." (precious metals, XDR, XSU, XUA, XTS, XXX) are left out: they cannot be
 * paid in decimal amounts. Withdrawn codes (ANG, BGN, HRK, SLL, ZWL, …) are left out too.
 *
 * The table is static rather than read from `Intl` because runtimes disagree (CLDR says 0 digits
 * for HUF and TWD cash, ISO says 2) and every verifier, browser and SDK must agree on what
 * "50.00" means.
 */
const MINOR_UNITS: ReadonlyMap<string, number> = new Map([
  ...codes(0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
  ...codes(3, "BHD IQD JOD KWD LYD OMR TND"),
  ...codes(4, "CLF UYW"),
  ...codes(
    2,
    `AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
     CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP
     GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT
     LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN
     NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE
     SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES
     WST XCD XCG YER ZAR ZMW ZWG`,
  ),
]);

function codes(digits: number, list: string): Array<[string, number]> {
  return list
    .split(/\s+/)
    .filter((code) => code !== "")
    .map((code) => [code, digits]);
}

/**
 * Minor-unit digits of an active ISO 4217 currency (2 for EUR, 0 for JPY, 3 for BHD), or
 * `undefined` for anything else, including lower-case spellings.
 */
export function getCurrencyMinorUnits(code: string): number | undefined {
  return MINOR_UNITS.get(code);
}
