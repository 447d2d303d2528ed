import {
  type CheckedVerifyRequest,
  checkVerifyRequest,
} from "../verification/verify-request-shape.js";
import { HttpProblem } from "./http-problem.js";

/** Parses a `POST /v1/verify` body, or throws a 400 naming every problem. */
export function parseVerifyBody(text: string): CheckedVerifyRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HttpProblem("ERR_INVALID_REQUEST", "The body is not valid JSON");
  }
  const checked = checkVerifyRequest(json);
  if (!checked.ok) throw new HttpProblem("ERR_INVALID_REQUEST", checked.problems.join("; "));
  return checked.request;
}
