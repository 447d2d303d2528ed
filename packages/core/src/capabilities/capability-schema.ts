import { z } from "zod";
import { canonicalizeJson, type JsonValue } from "../encoding/canonical-json.js";
import { AgentAuthError } from "../errors.js";
import {
  CAPABILITY_TYPES,
  type Capability,
  type CapabilityType,
  type CustomCapability,
  type DeleteCapability,
  type ReadCapability,
  type TransactCapability,
  type WriteCapability,
} from "./capability.js";
import {
  booleanField,
  checkAmountMatchesCurrency,
  currencyField,
  integerField,
  objectField,
  resourceField,
  stringField,
} from "./schema-fields.js";
import { joinPath, type ValidationResult, validateWithSchema } from "./validation-issues.js";

// Reverse-DNS: at least two lower-case DNS labels ("com.example", "io.github.acme").
const NAMESPACE =
  /^(?=.{3,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// Params are hashed, signed and put in every token: keep them small and shallow.
const MAX_PARAMS_LENGTH = 4096;
const MAX_PARAMS_DEPTH = 16;

const readSchema: z.ZodType<ReadCapability> = objectField({
  type: z.literal("read"),
  resource: resourceField(),
});

const writeSchema: z.ZodType<WriteCapability> = objectField({
  type: z.literal("write"),
  resource: resourceField(),
  max_items: integerField(1).optional(),
  append_only: booleanField().optional(),
});

const deleteSchema: z.ZodType<DeleteCapability> = objectField({
  type: z.literal("delete"),
  resource: resourceField(),
});

const transactSchema: z.ZodType<TransactCapability> = objectField({
  type: z.literal("transact"),
  resource: resourceField(),
  max_amount: stringField("a decimal string"),
  currency: currencyField(),
}).superRefine(checkAmountMatchesCurrency("max_amount"));

const paramsField = z.unknown().transform((value, context) => {
  const problem = findParamsProblem(value);
  if (problem !== undefined) {
    context.addIssue({ code: "custom", message: problem });
    return z.NEVER;
  }
  // A fresh, plain copy: the caller's object (and any prototype tricks) stays behind.
  return JSON.parse(canonicalizeJson(value)) as { [key: string]: JsonValue };
});

const customSchema: z.ZodType<CustomCapability> = objectField({
  type: z.literal("custom"),
  resource: resourceField(),
  namespace: stringField().regex(NAMESPACE, {
    error: 'must be a reverse-DNS name such as "com.example"',
  }),
  name: stringField().regex(NAME, {
    error: "must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit",
  }),
  params: paramsField.optional(),
});

const SCHEMAS: Readonly<Record<CapabilityType, z.ZodType<Capability>>> = {
  read: readSchema,
  write: writeSchema,
  delete: deleteSchema,
  transact: transactSchema,
  custom: customSchema,
};

/**
 * Validates one capability entry strictly (unknown members are errors) and returns a plain
 * JSON copy in wire shape. `allowedTypes` names every type the caller accepts, for the message.
 */
export function validateCapability(
  value: unknown,
  path: string,
  allowedTypes: readonly string[] = CAPABILITY_TYPES,
): ValidationResult<Capability> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, issues: [{ path, message: "must be an object" }] };
  }
  const { type } = value as { type?: unknown };
  if (!isCapabilityType(type)) {
    const message = `must be one of ${allowedTypes.join(", ")}`;
    return { ok: false, issues: [{ path: joinPath(path, ["type"]), message }] };
  }
  return validateWithSchema(SCHEMAS[type], value, path);
}

function isCapabilityType(type: unknown): type is CapabilityType {
  return (CAPABILITY_TYPES as readonly unknown[]).includes(type);
}

function findParamsProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "must be a JSON object";
  }
  if (isDeeperThan(value, MAX_PARAMS_DEPTH)) {
    return `must nest at most ${MAX_PARAMS_DEPTH} levels deep`;
  }
  let canonical: string;
  try {
    canonical = canonicalizeJson(value);
  } catch (error) {
    if (!(error instanceof AgentAuthError)) throw error;
    return "must be plain JSON (finite numbers, well-formed strings)";
  }
  if (canonical.length > MAX_PARAMS_LENGTH) {
    return `must be at most ${MAX_PARAMS_LENGTH} characters as canonical JSON`;
  }
  return undefined;
}

// Checked before canonicalising so that hostile nesting cannot exhaust the stack.
function isDeeperThan(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (depth === 0) return true;
  return Object.values(value).some((member) => isDeeperThan(member, depth - 1));
}
