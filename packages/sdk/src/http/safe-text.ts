// Control, format (bidi overrides, zero-width) and separator characters other than the space.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * A server-supplied string made safe to put in an error message or a log line: no control or
 * bidi characters, white space collapsed, at most `max` characters. `undefined` for a
 * non-string or an empty result.
 */
export function safeText(value: unknown, max = 300): string | undefined {
  if (typeof value !== "string") return undefined;
  const text = value.replace(UNSAFE, " ").replace(/\s+/g, " ").trim();
  if (text === "") return undefined;
  const characters = [...text];
  return characters.length <= max ? text : `${characters.slice(0, max - 1).join("")}…`;
}
