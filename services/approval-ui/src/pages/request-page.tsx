import { type AuthorizationDetails, parseAuthorizationDetails } from "@agentauth/core";
import { useCallback, useId, useMemo, useState } from "react";
import { describeApiError, isApiError } from "../api/api-error.js";
import { registry } from "../api/registry.js";
import type { ApprovalChallenge, ApprovedGrant, GrantRequest } from "../api/types.js";
import { describePasskeyFailure, PasskeyCeremonyError, signWithPasskey } from "../auth/passkeys.js";
import { CapabilityList } from "../components/capability-list.js";
import { Dialog } from "../components/dialog.js";
import { EnvelopeSummary } from "../components/envelope-summary.js";
import { formatDateTime, formatDuration, formatRelative } from "../components/format.js";
import { PageTitle } from "../components/page-title.js";
import { ErrorMessage, Loading, Notice } from "../components/status.js";
import { type FinalGrantResult, isHighRisk } from "../grant/narrowing.js";
import { NarrowingEditor } from "../grant/narrowing-editor.js";
import { useResource } from "../hooks/use-resource.js";
import { CLIENT_ROUTES } from "../routing/client-routes.js";
import { Link } from "../routing/router.js";

type Step =
  | { readonly name: "idle" }
  | { readonly name: "preparing" }
  | { readonly name: "confirming"; readonly challenge: ApprovalChallenge }
  | { readonly name: "signing" }
  | { readonly name: "approved"; readonly grant: ApprovedGrant }
  | { readonly name: "denying" }
  | { readonly name: "denied" };

/**
 * One request: who asks, the code to match, every capability and limit in plain English; the
 * narrowing editor; approve with a passkey over the exact final grant, or deny with a reason.
 */
export function RequestPage({ id }: { id: string }) {
  const request = useResource(`request:${id}`, () => registry.grantRequest(id), { pollMs: 10_000 });
  const data = request.data;
  if (data === undefined) {
    return (
      <section>
        <PageTitle title="Request">Request</PageTitle>
        {request.error !== undefined ? (
          <ErrorMessage
            error={request.error}
            title="Could not load this request"
            onRetry={() => void request.reload()}
          />
        ) : (
          <Loading label="Loading the request…" />
        )}
      </section>
    );
  }
  return <RequestView request={data} reload={request.reload} refreshError={request.error} />;
}

function RequestView({
  request,
  reload,
  refreshError,
}: {
  request: GrantRequest;
  reload: () => Promise<void>;
  refreshError: unknown;
}) {
  // Parsed once per content, so a poll that brings the same request changes nothing.
  const detailsKey = JSON.stringify(request.authorization_details);
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed by content
  const requested = useMemo<AuthorizationDetails>(
    () => parseAuthorizationDetails(request.authorization_details),
    [detailsKey],
  );
  const [finalGrant, setFinalGrant] = useState<FinalGrantResult>();
  const [step, setStep] = useState<Step>({ name: "idle" });
  const [error, setError] = useState<string>();
  const onChange = useCallback((result: FinalGrantResult) => setFinalGrant(result), []);
  const pending = request.status === "pending";
  const busy = step.name === "preparing" || step.name === "signing" || step.name === "denying";

  const sign = async (challenge: ApprovalChallenge) => {
    setStep({ name: "signing" });
    try {
      const response = await signWithPasskey(challenge.options);
      const grant = await registry.approve(request.id, {
        challenge_id: challenge.challenge_id,
        response,
      });
      setStep({ name: "approved", grant });
      void reload();
    } catch (failure) {
      setStep({ name: "idle" });
      setError(approvalFailure(failure));
      if (isApiError(failure) && failure.status === 409) void reload();
    }
  };

  const approve = async () => {
    if (finalGrant?.ok !== true) return;
    setError(undefined);
    setStep({ name: "preparing" });
    try {
      // The registry checks the narrowing again and derives the challenge from this grant.
      const challenge = await registry.approvalChallenge(request.id, {
        authorization_details: finalGrant.authorizationDetails,
        grant_lifetime: finalGrant.grantLifetime,
      });
      if (isHighRisk(finalGrant.authorization)) setStep({ name: "confirming", challenge });
      else await sign(challenge);
    } catch (failure) {
      setStep({ name: "idle" });
      setError(approvalFailure(failure));
      if (isApiError(failure) && (failure.status === 409 || failure.status === 410)) void reload();
    }
  };

  return (
    <section>
      <p className="breadcrumb">
        <Link to={CLIENT_ROUTES.inbox}>← All requests</Link>
      </p>
      <PageTitle title={`Request from ${request.agent.name}`}>
        {request.agent.name} asks for access to {request.service_provider.name}
      </PageTitle>

      <section className="match-code" aria-labelledby="match-code-title">
        <h2 id="match-code-title" className="label">
          Check that your agent shows the same code
        </h2>
        <p className="user-code user-code-large">{request.user_code}</p>
        {request.binding_message !== null && (
          <p className="binding-message binding-message-large">“{request.binding_message}”</p>
        )}
      </section>

      <dl className="facts">
        <dt>Agent</dt>
        <dd>
          {request.agent.name} <code className="id">{request.agent.id}</code>
        </dd>
        <dt>Service</dt>
        <dd>
          {request.service_provider.name} <code className="id">{request.service_provider.id}</code>
        </dd>
        <dt>Asked</dt>
        <dd>{formatDateTime(request.created_at)}</dd>
        <dt>Grant would last</dt>
        <dd>{formatDuration(request.grant_lifetime)}</dd>
        <dt>Status</dt>
        <dd>
          <StatusText request={request} />
        </dd>
      </dl>

      {refreshError !== undefined && (
        <ErrorMessage error={refreshError} title="Could not refresh this request" />
      )}
      {step.name === "approved" && (
        <Notice>
          <p>
            <strong>Approved.</strong> The agent can now collect a token for exactly this grant,
            until {formatDateTime(step.grant.expires_at)}.
          </p>
          <p className="hint">
            Grant <code className="id">{step.grant.id}</code>, digest{" "}
            <code className="id">{step.grant.digest}</code>.{" "}
            <Link to={CLIENT_ROUTES.grants}>See your grants</Link>.
          </p>
        </Notice>
      )}
      {step.name === "denied" && (
        <Notice>
          <strong>Denied.</strong> The agent is told your reason.
        </Notice>
      )}
      {error !== undefined && (
        <div className="alert alert-error" role="alert">
          <p>
            <strong>Nothing was approved.</strong> {error}
          </p>
        </div>
      )}

      {pending && step.name !== "approved" && step.name !== "denied" ? (
        <>
          <h2>Review and narrow</h2>
          <NarrowingEditor
            key={request.id}
            requested={requested}
            requestedLifetime={request.grant_lifetime}
            onChange={onChange}
            disabled={busy}
          />
          <div className="button-row decision">
            <button
              type="button"
              className="button-primary"
              disabled={busy || finalGrant?.ok !== true}
              onClick={() => void approve()}
            >
              {step.name === "preparing"
                ? "Preparing…"
                : step.name === "signing"
                  ? "Waiting for your passkey…"
                  : "Approve with passkey"}
            </button>
          </div>
          <DenyForm
            disabled={busy}
            onDeny={async (reason) => {
              setError(undefined);
              setStep({ name: "denying" });
              try {
                await registry.deny(request.id, reason);
                setStep({ name: "denied" });
                void reload();
              } catch (failure) {
                setStep({ name: "idle" });
                setError(describeApiError(failure));
              }
            }}
          />
        </>
      ) : (
        <>
          <h2>What the agent asked for</h2>
          <CapabilityList capabilities={request.capabilities} />
          <EnvelopeSummary envelope={request.envelope} />
        </>
      )}

      {step.name === "confirming" && (
        <HighRiskConfirmation
          request={request}
          challenge={step.challenge}
          onConfirm={() => void sign(step.challenge)}
          onCancel={() => setStep({ name: "idle" })}
        />
      )}
    </section>
  );
}

function StatusText({ request }: { request: GrantRequest }) {
  switch (request.status) {
    case "pending":
      return <>Waiting for you — expires {formatRelative(request.expires_at)}</>;
    case "approved":
      return <>Approved {request.decided_at === null ? "" : formatDateTime(request.decided_at)}</>;
    case "denied":
      return (
        <>
          Denied {request.decided_at === null ? "" : formatDateTime(request.decided_at)}
          {request.deny_reason === null ? "" : `: “${request.deny_reason}”`}
        </>
      );
    case "expired":
      return <>Expired without a decision</>;
  }
}

/**
 * The second confirmation for grants that move money or delete things. It restates what the
 * registry will have the passkey sign (the final grant it derived the challenge from).
 */
function HighRiskConfirmation({
  request,
  challenge,
  onConfirm,
  onCancel,
}: {
  request: GrantRequest;
  challenge: ApprovalChallenge;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const grant = challenge.final_grant;
  const [understood, setUnderstood] = useState(false);
  const checkboxId = useId();
  const amounts = grant.capabilities
    .map((item) => item.capability)
    .filter((capability) => capability.type === "transact")
    .map((capability) => `${capability.max_amount} ${capability.currency}`);
  return (
    <Dialog title="This grant can move money or delete data" onClose={onCancel}>
      <div className="dialog-body">
        <p>
          You are about to let <strong>{request.agent.name}</strong> do the following at{" "}
          <strong>{request.service_provider.name}</strong>, until {formatDateTime(grant.expires_at)}
          :
        </p>
        <CapabilityList capabilities={grant.capabilities} label="Capabilities to approve" />
        <EnvelopeSummary envelope={grant.envelope} label="Limits to approve" />
        <div className="checkbox-row">
          <input
            id={checkboxId}
            type="checkbox"
            checked={understood}
            onChange={(event) => setUnderstood(event.target.checked)}
          />
          <label htmlFor={checkboxId}>
            {amounts.length > 0
              ? `I understand this agent may pay up to ${amounts.join(" and ")} per payment.`
              : "I understand this agent may delete data."}
          </label>
        </div>
      </div>
      <div className="button-row">
        <button type="button" className="button-danger" disabled={!understood} onClick={onConfirm}>
          Confirm and use passkey
        </button>
        <button type="button" className="button-secondary" onClick={onCancel}>
          Back
        </button>
      </div>
    </Dialog>
  );
}

function DenyForm({
  disabled,
  onDeny,
}: {
  disabled: boolean;
  onDeny: (reason: string) => Promise<void>;
}) {
  const [reason, setReason] = useState("");
  const id = useId();
  return (
    <form
      className="deny-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (reason.trim() !== "") void onDeny(reason.trim());
      }}
    >
      <h2>Or deny it</h2>
      <label htmlFor={id}>Reason (the agent is told)</label>
      <textarea
        id={id}
        value={reason}
        maxLength={500}
        required
        rows={2}
        onChange={(event) => setReason(event.target.value)}
        disabled={disabled}
      />
      <button type="submit" className="button-danger" disabled={disabled || reason.trim() === ""}>
        Deny request
      </button>
    </form>
  );
}

function approvalFailure(failure: unknown): string {
  if (failure instanceof PasskeyCeremonyError) return describePasskeyFailure(failure);
  if (isApiError(failure, "ERR_CONFLICT")) return `${failure.message}.`.replace(/\.\.$/, ".");
  if (isApiError(failure, "ERR_GRANT_WIDENED"))
    return `The registry refused a grant wider than the request: ${failure.message}`;
  if (isApiError(failure, "ERR_REQUEST_NOT_PENDING") || isApiError(failure, "ERR_REQUEST_EXPIRED"))
    return failure.message;
  return describePasskeyFailure(failure);
}
