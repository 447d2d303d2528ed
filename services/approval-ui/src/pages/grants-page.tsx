import { useState } from "react";
import { registry } from "../api/registry.js";
import type { Grant, GrantStatus } from "../api/types.js";
import { CapabilityList } from "../components/capability-list.js";
import { ConfirmDialog } from "../components/dialog.js";
import { EnvelopeSummary } from "../components/envelope-summary.js";
import { formatDateTime } from "../components/format.js";
import { PageTitle } from "../components/page-title.js";
import { Empty, ErrorMessage, Loading, Notice } from "../components/status.js";
import { ReceiptPanel } from "../grant/receipt-panel.js";
import { useResource } from "../hooks/use-resource.js";

const FILTERS: readonly { value: GrantStatus | "all"; label: string }[] = [
  { value: "active", label: "Active" },
  { value: "expired", label: "Expired" },
  { value: "revoked", label: "Revoked" },
  { value: "all", label: "All" },
];

/** What the human has approved, with revocation and each approval's passkey receipt. */
export function GrantsPage() {
  const grants = useResource("grants", () => registry.grants(), { pollMs: 15_000 });
  const [filter, setFilter] = useState<GrantStatus | "all">("active");
  const [revoking, setRevoking] = useState<Grant>();
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<unknown>();

  const list = grants.data?.grants.filter((grant) => filter === "all" || grant.status === filter);

  const revoke = async (grant: Grant) => {
    setBusy(true);
    setError(undefined);
    try {
      await registry.revokeGrant(grant.id);
      setNotice(
        `Revoked ${grant.agent_name}'s grant for ${grant.service_provider}. Its tokens stop working now.`,
      );
      await grants.reload();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
      setRevoking(undefined);
    }
  };

  return (
    <section>
      <PageTitle title="Grants">Grants</PageTitle>
      <fieldset className="tabs">
        <legend className="visually-hidden">Show grants</legend>
        {FILTERS.map((option) => (
          <button
            key={option.value}
            type="button"
            className="tab"
            aria-pressed={filter === option.value}
            onClick={() => setFilter(option.value)}
          >
            {option.label}
          </button>
        ))}
      </fieldset>
      {notice !== undefined && <Notice>{notice}</Notice>}
      {error !== undefined && <ErrorMessage error={error} title="Could not revoke" />}
      {grants.error !== undefined && (
        <ErrorMessage
          error={grants.error}
          title="Could not load grants"
          onRetry={() => void grants.reload()}
        />
      )}
      {list === undefined ? (
        grants.error === undefined && <Loading label="Loading grants…" />
      ) : list.length === 0 ? (
        <Empty>
          <p>No {filter === "all" ? "" : `${filter} `}grants.</p>
        </Empty>
      ) : (
        <ul className="card-list" aria-label="Grants">
          {list.map((grant) => (
            <GrantCard key={grant.id} grant={grant} onRevoke={() => setRevoking(grant)} />
          ))}
        </ul>
      )}
      {revoking !== undefined && (
        <ConfirmDialog
          title="Revoke this grant?"
          confirmLabel="Revoke grant"
          danger
          busy={busy}
          onConfirm={() => void revoke(revoking)}
          onCancel={() => setRevoking(undefined)}
        >
          <p>
            {revoking.agent_name} loses access to {revoking.service_provider} at once: its tokens
            and refresh tokens for this grant stop working on every verifier. This cannot be undone;
            the agent would have to ask again.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function GrantCard({ grant, onRevoke }: { grant: Grant; onRevoke: () => void }) {
  const [showReceipt, setShowReceipt] = useState(false);
  return (
    <li className="card" aria-label={`Grant ${grant.id}`}>
      <div className="card-head">
        <h2 className="card-title">
          {grant.agent_name} → {grant.service_provider}
        </h2>
        <span className={`badge badge-status-${grant.status}`}>{statusLabel(grant.status)}</span>
      </div>
      <CapabilityList capabilities={grant.capabilities} />
      <EnvelopeSummary envelope={grant.envelope} />
      <p className="meta">
        Approved {formatDateTime(grant.created_at)} ·{" "}
        {grant.status === "revoked" && grant.revoked_at !== null
          ? `revoked ${formatDateTime(grant.revoked_at)}`
          : `${grant.status === "expired" ? "ended" : "ends"} ${formatDateTime(grant.expires_at)}`}
        {" · "}
        <code className="id">{grant.id}</code>
      </p>
      <div className="button-row">
        {grant.status === "active" && (
          <button type="button" className="button-danger" onClick={onRevoke}>
            Revoke
          </button>
        )}
        <button
          type="button"
          className="button-secondary"
          aria-expanded={showReceipt}
          onClick={() => setShowReceipt((shown) => !shown)}
        >
          {showReceipt ? "Hide receipt" : "Check passkey receipt"}
        </button>
      </div>
      {showReceipt && <ReceiptPanel grantId={grant.id} />}
    </li>
  );
}

function statusLabel(status: GrantStatus): string {
  return status === "active" ? "Active" : status === "expired" ? "Expired" : "Revoked";
}
