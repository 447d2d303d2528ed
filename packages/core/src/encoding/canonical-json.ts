import { AgentAuthError } from "../errors.js";

/** A JSON value as it travels on the wire. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * Serialises a JSON value the RFC 8785 (JCS) way: object members sorted by UTF-16 code units,
 * no insignificant white space, ECMAScript number formatting, minimal string escaping. Members
 * whose value is `undefined` are left out, as `JSON.stringify` does.
 *
 * Throws `ERR_JSON_NOT_CANONICALIZABLE` for values I-JSON forbids (non-finite numbers, lone
 * surrogates) or that are not JSON at all.
 *
 * @example canonicalizeJson({ b: 1, a: [true, null] }) === '{"a":[true,null],"b":1}'
 */
export function canonicalizeJson(value: unknown): string {
  return serialize(value, []);
}

// `path` holds the keys leading to `value`; it becomes text only in an error message.
function serialize(value: unknown, path: (string | number)[]): string {
  switch (typeof value) {
    case "string":
      return serializeString(value, path);
    case "number":
      if (!Number.isFinite(value)) fail(path, "a number must be finite");
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          path.push(i);
          out += serialize(value[i], path);
          path.pop();
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) fail(path, "only plain objects are JSON");
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = "{";
      for (const key of keys) {
        const member = record[key];
        if (member === undefined) continue;
        if (out.length > 1) out += ",";
        path.push(key);
        out += `${serializeString(key, path)}:${serialize(member, path)}`;
        path.pop();
      }
      return `${out}}`;
    }
    default:
      return fail(path, `a ${typeof value} is not JSON`);
  }
}

// JSON.stringify already escapes exactly what RFC 8785 §3.2.2.2 requires (and, since ES2019,
// turns lone surrogates into \u escapes); I-JSON forbids those, so they are rejected first.
// Most strings need neither, and one test of the string says so.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must be escaped
const NEEDS_CARE = /["\\\u0000-\u001f\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serializeString(text: string, path: readonly (string | number)[]): string {
  if (!NEEDS_CARE.test(text)) return `"${text}"`;
  if (LONE_SURROGATE.test(text)) fail(path, "a string contains a lone surrogate");
  return JSON.stringify(text);
}

function fail(path: readonly (string | number)[], reason: string): never {
  const where = path.reduce<string>(
    (text, key) => (typeof key === "number" ? `${text}[${key}]` : `${text}.${key}`),
    "$",
  );
  throw new AgentAuthError(
    "ERR_JSON_NOT_CANONICALIZABLE",
    `Cannot canonicalize ${where}: ${reason}`,
    {
      details: { path: where },
    },
  );
}
