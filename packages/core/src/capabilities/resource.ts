/**
 * A validated resource: its literal segments, and whether a final `*` extends it to everything
 * below them (`calendar/*` is `{ prefix: ["calendar"], wildcard: true }`, `*` alone has an empty
 * prefix).
 */
export interface Resource {
  prefix: readonly string[];
  wildcard: boolean;
}

export type ParseResourceResult = { ok: true; resource: Resource } | { ok: false; problem: string };

const MAX_RESOURCE_LENGTH = 256;
const SEGMENT = /^[A-Za-z0-9._~:@-]+$/;

/** Splits a resource or resource pattern into segments, or explains why it is malformed. */
export function parseResource(text: string): ParseResourceResult {
  if (typeof text !== "string") return { ok: false, problem: "must be a string" };
  if (text.length > MAX_RESOURCE_LENGTH) {
    return { ok: false, problem: `must be at most ${MAX_RESOURCE_LENGTH} characters` };
  }
  const segments = text.split("/");
  const last = segments.length - 1;
  const prefix: string[] = [];
  for (const [index, segment] of segments.entries()) {
    const problem = findSegmentProblem(segment, index === last);
    if (problem !== undefined) return { ok: false, problem: `segment ${index + 1} ${problem}` };
    if (segment !== "*") prefix.push(segment);
  }
  return { ok: true, resource: { prefix, wildcard: segments[last] === "*" } };
}

function findSegmentProblem(segment: string, isLast: boolean): string | undefined {
  if (segment === "") return "is empty";
  if (segment === "*")
    return isLast ? undefined : "is '*', which is only allowed as the last segment";
  if (segment.includes("*")) return "mixes '*' with other characters";
  if (segment === "." || segment === "..") return `is '${segment}'`;
  if (!SEGMENT.test(segment)) return "has characters outside [A-Za-z0-9._~:@-]";
  return undefined;
}

/**
 * Whether every resource `inner` can name is also named by `outer`. Segment by segment, never by
 * substring: `calendar/*` contains `calendar/work`, `calendar/work/*` and `calendar/*`, but not
 * `calendar` itself nor `calendarx/y`.
 */
export function containsResource(outer: Resource, inner: Resource): boolean {
  if (!outer.wildcard) {
    return (
      !inner.wildcard &&
      isPrefixOf(outer.prefix, inner.prefix) &&
      inner.prefix.length === outer.prefix.length
    );
  }
  // `p/*` names p/x, p/x/y, …: one or more segments below p. A pattern below or at p names only
  // such resources; an exact resource must have at least one segment more than p.
  const minimumLength = inner.wildcard ? outer.prefix.length : outer.prefix.length + 1;
  return inner.prefix.length >= minimumLength && isPrefixOf(outer.prefix, inner.prefix);
}

function isPrefixOf(prefix: readonly string[], segments: readonly string[]): boolean {
  return prefix.every((segment, index) => segments[index] === segment);
}

/** {@link containsResource} on unparsed strings; anything malformed is contained by nothing. */
export function isResourceWithin(inner: string, outer: string): boolean {
  const parsedOuter = parseResource(outer);
  const parsedInner = parseResource(inner);
  return (
    parsedOuter.ok && parsedInner.ok && containsResource(parsedOuter.resource, parsedInner.resource)
  );
}
