import { computeAuditEventHash, type JsonValue } from "@agentauth/core";
import { useEffect, useId, useState } from "react";
import { registry } from "../api/registry.js";
import type { AuditEvent, ChainVerification } from "../api/types.js";
import { useHuman } from "../auth/session.js";
import { formatDateTime } from "../components/format.js";
import { PageTitle } from "../components/page-title.js";
import { Empty, ErrorMessage, Loading } from "../components/status.js";
import { ReceiptPanel } from "../grant/receipt-panel.js";
import { type Resource, useResource } from "../hooks/use-resource.js";

/** Suggestions for the type filter; any type the registry records can be typed. */
const EVENT_TYPES = [
  "grant.requested",
  "grant.approved",
  "grant.denied",
  "grant.expired",
  "grant.revoked",
  "token.issued",
  "token.revoked",
  "agent.enrolment_code_created",
  "agent.enrolled",
  "agent.renamed",
  "agent.key_rotated",
  "agent.disabled",
  "human.enrolled",
  "human.invited",
  "passkey.added",
  "passkey.removed",
  "session.started",
  "session.revoked",
  "service_provider.created",
  "service_provider.disabled",
  "service_provider.key_created",
  "service_provider.key_revoked",
  "signing_key.rotated",
  "verifier.decision",
] as const;

const PAGE_SIZE = 100;

interface Filters {
  readonly type: string;
  readonly actor: string;
  readonly subject: string;
  readonly everyone: boolean;
}

/**
 * The audit log of the human's agents and grants: filterable, each event re-hashed here against
 * its chain link, the whole chain's verification by the registry, and approval receipts.
 */
export function ActivityPage() {
  const human = useHuman();
  const [filters, setFilters] = useState<Filters>({
    type: "",
    actor: "",
    subject: "",
    everyone: false,
  });
  const [pages, setPages] = useState<AuditEvent[][]>([]);
  const query = {
    limit: PAGE_SIZE,
    type: filters.type,
    actor: filters.actor.trim(),
    subject: filters.subject.trim(),
    ...(filters.everyone && human.is_admin ? { scope: "all" as const } : {}),
  };
  const queryKey = JSON.stringify(query);
  const first = useResource(`audit:${queryKey}`, async () =>
    withLocalChecks(await registry.auditEvents(query)),
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: new filters start a new list
  useEffect(() => setPages([]), [queryKey]);
  const chain = useResource("audit-verify", () => registry.verifyAuditChain());
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>();
  const firstPage = first.data;
  const events = [...(firstPage?.events ?? []), ...pages.flat()];
  const lastPageFull = (pages.at(-1)?.length ?? firstPage?.events.length ?? 0) === PAGE_SIZE;

  const loadMore = async () => {
    const after = events.at(-1)?.sequence;
    if (after === undefined) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await withLocalChecks(await registry.auditEvents({ ...query, after }));
      setPages((previous) => [...previous, [...page.events]]);
    } catch (failure) {
      setMoreError(failure);
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <section>
      <PageTitle title="Activity">Activity</PageTitle>
      <ChainStatus chain={chain} />
      <FilterForm filters={filters} isAdmin={human.is_admin} onChange={setFilters} />
      <div className="button-row">
        <button
          type="button"
          className="button-secondary"
          onClick={() => {
            setPages([]);
            void first.reload();
            void chain.reload();
          }}
        >
          Refresh
        </button>
      </div>
      {first.error !== undefined && (
        <ErrorMessage
          error={first.error}
          title="Could not load activity"
          onRetry={() => void first.reload()}
        />
      )}
      {firstPage === undefined ? (
        first.error === undefined && <Loading label="Loading activity…" />
      ) : events.length === 0 ? (
        <Empty>
          <p>
            No events
            {filters.type || filters.actor || filters.subject ? " match these filters" : " yet"}.
          </p>
        </Empty>
      ) : (
        <>
          <p className="hint">
            Oldest first. “Link ✓” means this browser re-hashed the event and got the hash the chain
            stores for it.
          </p>
          <ol className="event-list" aria-label="Audit events">
            {events.map((event) => (
              <EventRow key={event.sequence} event={event} />
            ))}
          </ol>
          {moreError !== undefined && (
            <ErrorMessage error={moreError} title="Could not load more" />
          )}
          {lastPageFull && (
            <button
              type="button"
              className="button-secondary"
              disabled={loadingMore}
              onClick={() => void loadMore()}
            >
              {loadingMore ? "Loading…" : "Load newer events"}
            </button>
          )}
        </>
      )}
    </section>
  );
}

type CheckedEvent = AuditEvent & { readonly locallyValid: boolean };

async function withLocalChecks(page: { events: readonly AuditEvent[]; next_after: number | null }) {
  const events: CheckedEvent[] = await Promise.all(
    page.events.map(async (event) => ({
      ...event,
      locallyValid:
        (await computeAuditEventHash(
          event.previous_hash,
          event.event as unknown as JsonValue,
        ).catch(() => "")) === event.hash,
    })),
  );
  return { events, next_after: page.next_after };
}

function ChainStatus({ chain }: { chain: Resource<ChainVerification> }) {
  if (chain.data === undefined) {
    return chain.error === undefined ? (
      <Loading label="Verifying the audit chain…" />
    ) : (
      <ErrorMessage
        error={chain.error}
        title="Could not verify the audit chain"
        onRetry={() => void chain.reload()}
      />
    );
  }
  const result = chain.data;
  return result.status === "intact" ? (
    <div className="alert alert-success chain-status" role="status">
      <p>
        <strong>Audit chain intact.</strong> {result.count} events re-hashed by the registry; head{" "}
        <code className="id">{result.head_hash.slice(0, 16)}…</code> at #{result.last_sequence}.
      </p>
      <button type="button" className="button-secondary" onClick={() => void chain.reload()}>
        Verify again
      </button>
    </div>
  ) : (
    <div className="alert alert-error chain-status" role="alert">
      <p>
        <strong>The audit chain is broken</strong> at event #{result.first_break.sequence} (
        {result.first_break.reason.replaceAll("_", " ")}). Events from there on may have been
        altered: tell your administrator.
      </p>
    </div>
  );
}

function FilterForm({
  filters,
  isAdmin,
  onChange,
}: {
  filters: Filters;
  isAdmin: boolean;
  onChange: (filters: Filters) => void;
}) {
  const [draft, setDraft] = useState(filters);
  const base = useId();
  return (
    <form
      className="filters"
      aria-label="Filter events"
      onSubmit={(event) => {
        event.preventDefault();
        onChange(draft);
      }}
    >
      <div>
        <label htmlFor={`${base}-type`}>Type</label>
        <input
          id={`${base}-type`}
          list={`${base}-types`}
          value={draft.type}
          maxLength={100}
          placeholder="Any"
          onChange={(event) => setDraft({ ...draft, type: event.target.value })}
        />
        <datalist id={`${base}-types`}>
          {EVENT_TYPES.map((type) => (
            <option key={type} value={type} />
          ))}
        </datalist>
      </div>
      <div>
        <label htmlFor={`${base}-actor`}>Actor id</label>
        <input
          id={`${base}-actor`}
          value={draft.actor}
          maxLength={200}
          onChange={(event) => setDraft({ ...draft, actor: event.target.value })}
        />
      </div>
      <div>
        <label htmlFor={`${base}-subject`}>Subject id</label>
        <input
          id={`${base}-subject`}
          value={draft.subject}
          maxLength={200}
          onChange={(event) => setDraft({ ...draft, subject: event.target.value })}
        />
      </div>
      {isAdmin && (
        <div className="checkbox-row">
          <input
            id={`${base}-all`}
            type="checkbox"
            checked={draft.everyone}
            onChange={(event) => setDraft({ ...draft, everyone: event.target.checked })}
          />
          <label htmlFor={`${base}-all`}>Everyone's events (admin)</label>
        </div>
      )}
      <button type="submit" className="button-secondary">
        Apply filters
      </button>
    </form>
  );
}

function EventRow({ event }: { event: AuditEvent & { locallyValid?: boolean } }) {
  const [showReceipt, setShowReceipt] = useState(false);
  const body = event.event;
  const data = Object.entries(body.data);
  return (
    <li className="event">
      <div className="event-head">
        <span className="event-seq">#{event.sequence}</span>
        <strong className="event-type">{body.type}</strong>
        <span className="muted">{formatDateTime(body.occurred_at)}</span>
        <span className={event.locallyValid ? "link-ok" : "link-bad"}>
          {event.locallyValid ? "Link ✓" : "Link ✗ (hash mismatch)"}
        </span>
      </div>
      <p className="meta">
        by <code className="id">{body.actor}</code>
        {body.subject !== null && (
          <>
            {" "}
            on <code className="id">{body.subject}</code>
          </>
        )}
        {data.length > 0 && (
          <>
            {" · "}
            {data
              .map(
                ([key, value]) =>
                  `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`,
              )
              .join(" · ")}
          </>
        )}
      </p>
      {body.type === "grant.approved" && body.subject !== null && (
        <>
          <button
            type="button"
            className="button-secondary"
            aria-expanded={showReceipt}
            onClick={() => setShowReceipt((shown) => !shown)}
          >
            {showReceipt ? "Hide receipt" : "Check passkey receipt"}
          </button>
          {showReceipt && <ReceiptPanel grantId={body.subject} />}
        </>
      )}
    </li>
  );
}
