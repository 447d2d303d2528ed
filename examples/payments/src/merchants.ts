/** The merchants the example pays (a real provider would look them up). */
export const DEFAULT_MERCHANTS: readonly string[] = Object.freeze(["acme", "globex", "initech"]);
