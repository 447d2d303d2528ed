/** The verifier's only source of time, so every rule is testable with a frozen clock. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
