import { useEffect, useState } from "react";
import { registry } from "../api/registry.js";
import type { GrantRequest, GrantRequestStatus } from "../api/types.js";
import { formatDateTime, formatRelative } from "../components/format.js";
import { PageTitle } from "../components/page-title.js";
import { highestRisk, RiskBadge } from "../components/risk-badge.js";
import { Empty, ErrorMessage, Loading } from "../components/status.js";
import { useResource } from "../hooks/use-resource.js";
import { CLIENT_ROUTES } from "../routing/client-routes.js";
import { Link } from "../routing/router.js";

const VIEWS: readonly { status: GrantRequestStatus; label: string }[] = [
  { status: "pending", label: "Waiting" },
  { status: "approved", label: "Approved" },
  { status: "denied", label: "Denied" },
  { status: "expired", label: "Expired" },
];

/** New requests show up by themselves: the list is polled (with backoff) while visible. */
const POLL_MS = 3_000;

/** The requests agents are waiting on, newest first, with the code to match against the agent. */
export function InboxPage() {
  const [view, setView] = useState<GrantRequestStatus>("pending");
  const requests = useResource(`inbox:${view}`, () => registry.grantRequests(view), {
    pollMs: POLL_MS,
  });
  const list = requests.data?.requests;
  const waiting = view === "pending" ? list?.length : undefined;

  useEffect(() => {
    if (waiting !== undefined)
      document.title = `${waiting > 0 ? `(${waiting}) ` : ""}Requests · AgentAuth`;
  }, [waiting]);

  return (
    <section>
      <PageTitle title="Requests">Requests</PageTitle>
      <fieldset className="tabs">
        <legend className="visually-hidden">Show requests</legend>
        {VIEWS.map((option) => (
          <button
            key={option.status}
            type="button"
            className="tab"
            aria-pressed={view === option.status}
            onClick={() => setView(option.status)}
          >
            {option.label}
          </button>
        ))}
      </fieldset>
      <p className="visually-hidden" role="status" aria-live="polite">
        {waiting === undefined ? "" : `${waiting} request${waiting === 1 ? "" : "s"} waiting`}
      </p>
      {requests.error !== undefined && (
        <ErrorMessage
          error={requests.error}
          title={list === undefined ? "Could not load requests" : "Could not refresh requests"}
          onRetry={() => void requests.reload()}
        />
      )}
      {list === undefined ? (
        requests.error === undefined && <Loading label="Loading requests…" />
      ) : list.length === 0 ? (
        <Empty>
          {view === "pending" ? (
            <>
              <p>
                <strong>Nothing is waiting for you.</strong>
              </p>
              <p>When one of your agents asks for access, it appears here within seconds.</p>
            </>
          ) : (
            <p>
              No {VIEWS.find((option) => option.status === view)?.label.toLowerCase()} requests.
            </p>
          )}
        </Empty>
      ) : (
        <ul
          className="card-list"
          aria-label={`${VIEWS.find((option) => option.status === view)?.label} requests`}
        >
          {list.map((request) => (
            <RequestCard key={request.id} request={request} />
          ))}
        </ul>
      )}
    </section>
  );
}

function RequestCard({ request }: { request: GrantRequest }) {
  const risk = highestRisk(request.capabilities.map((capability) => capability.risk));
  return (
    <li className="card request-card">
      <div className="request-card-code">
        <span className="label">Code</span>
        <span className="user-code">{request.user_code}</span>
      </div>
      <div className="request-card-body">
        <h2 className="card-title">
          <Link to={CLIENT_ROUTES.request(request.id)}>
            {request.agent.name} → {request.service_provider.name}
          </Link>
        </h2>
        {request.binding_message !== null && (
          <p className="binding-message">“{request.binding_message}”</p>
        )}
        <p className="meta">
          <RiskBadge risk={risk} /> {request.capabilities.length} capabilit
          {request.capabilities.length === 1 ? "y" : "ies"} ·{" "}
          {request.status === "pending" ? (
            <>expires {formatRelative(request.expires_at)}</>
          ) : (
            <>asked {formatDateTime(request.created_at)}</>
          )}
        </p>
      </div>
    </li>
  );
}
