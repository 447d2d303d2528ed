import type { JsonValue } from "@agentauth/core";

/**
 * Who makes a change that is not an agent's or a service provider's own request, as the audit
 * chain records it: a signed-in human (the event's `actor` is their id), or the system — the
 * registry, or a process hosting it, acting by itself (the event's `actor` is `"system"`, and
 * `data.via` names that process, e.g. `"embedded-platform"`).
 */
export type AuditActor =
  | { readonly kind: "human"; readonly humanId: string }
  | { readonly kind: "system"; readonly via: string };

const VIA = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The event `actor` of `actor`, checking its shape (`TypeError` for a programmer's mistake). */
export function auditActorId(actor: AuditActor): string {
  switch (actor?.kind) {
    case "human":
      if (typeof actor.humanId !== "string" || actor.humanId === "") {
        throw new TypeError("A human audit actor needs the human's id");
      }
      return actor.humanId;
    case "system":
      if (typeof actor.via !== "string" || !VIA.test(actor.via)) {
        throw new TypeError(
          "A system audit actor needs `via`: 1-64 lower-case letters, digits, '.', '_' or '-' naming the process",
        );
      }
      return "system";
    default:
      throw new TypeError(
        'An audit actor is { kind: "human", humanId } or { kind: "system", via }',
      );
  }
}

/** What `actor` adds to an event's data: the process, for the system. */
export function auditActorData(actor: AuditActor): Readonly<Record<string, JsonValue>> {
  return actor.kind === "system" ? { via: actor.via } : {};
}
