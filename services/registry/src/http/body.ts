import express, { type RequestHandler } from "express";
import type { z } from "zod";
import { RegistryError } from "../errors.js";

const BODY_LIMIT = "64kb";
const parseJson = express.json({ limit: BODY_LIMIT, strict: true, type: "application/json" });
const parseForm = express.urlencoded({ limit: BODY_LIMIT, extended: false, parameterLimit: 50 });

function requireBodyOf(type: string, parser: RequestHandler, description: string): RequestHandler {
  return (req, res, next) => {
    if (!req.is(type) || !isUtf8(req.get("content-type"))) {
      next(
        new RegistryError(
          "ERR_UNSUPPORTED_MEDIA_TYPE",
          `The request body must be ${description} in UTF-8`,
        ),
      );
      return;
    }
    parser(req, res, next);
  };
}

// RFC 8259 §8.1 and the URL Standard both mean UTF-8. body-parser would also decode JSON sent as
// UTF-7 or UTF-16, letting a body read differently here than in a proxy or log that checked it.
function isUtf8(contentType: string | undefined): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "")?.[1];
  return charset === undefined || charset.toLowerCase() === "utf-8";
}

/** Parses a JSON body of at most 64 KiB; anything else is a 415. */
export const jsonBody: RequestHandler = requireBodyOf(
  "application/json",
  parseJson,
  "application/json",
);

/** Parses an `application/x-www-form-urlencoded` body (OAuth endpoints) of at most 64 KiB. */
export const formBody: RequestHandler = requireBodyOf(
  "application/x-www-form-urlencoded",
  parseForm,
  "application/x-www-form-urlencoded",
);

/** Validates untrusted input with a schema; failures are `ERR_VALIDATION` naming each field. */
export function parseInput<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
  code: "ERR_VALIDATION" | "ERR_INVALID_REQUEST" = "ERR_VALIDATION",
): z.output<Schema> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.join("."),
    message: issue.message,
  }));
  const summary = issues
    .map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`))
    .join("; ");
  throw new RegistryError(code, summary, { details: { issues } });
}
