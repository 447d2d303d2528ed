import { useId, useState } from "react";
import { registry } from "../api/registry.js";
import type { Agent, EnrolmentCode } from "../api/types.js";
import { CopyField } from "../components/copy-field.js";
import { ConfirmDialog } from "../components/dialog.js";
import { formatDateTime, formatRelative } from "../components/format.js";
import { PageTitle } from "../components/page-title.js";
import { Empty, ErrorMessage, Loading, Notice } from "../components/status.js";
import { useResource } from "../hooks/use-resource.js";

/** The human's agents: enrol a new one with a one-time code, rename, disable. */
export function AgentsPage() {
  const [code, setCode] = useState<EnrolmentCode>();
  // Poll faster while a fresh code waits for its agent, so the agent shows up as it enrols.
  const agents = useResource("agents", () => registry.agents(), {
    pollMs: code === undefined ? 15_000 : 2_000,
  });
  const [disabling, setDisabling] = useState<Agent>();
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<unknown>();

  const disable = async (agent: Agent) => {
    setBusy(true);
    setError(undefined);
    try {
      await registry.disableAgent(agent.id);
      setNotice(`${agent.name} is disabled: all its grants and tokens are revoked.`);
      await agents.reload();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
      setDisabling(undefined);
    }
  };

  return (
    <section>
      <PageTitle title="Agents">Agents</PageTitle>
      <EnrolmentCodeForm
        onCreated={(created) => {
          setCode(created);
          setNotice(undefined);
        }}
      />
      {code !== undefined && (
        <section className="card secret-card" aria-label="New enrolment code">
          <h2 className="card-title">Enrolment code for {code.agent_name}</h2>
          <p>
            Give this code to the agent once. It enrols with it and its own key, and the code stops
            working. It expires {formatRelative(code.expires_at)}; it is not shown again.
          </p>
          <CopyField label="Enrolment code" value={code.code} />
          <CopyField label="Registry address" value={window.location.origin} />
        </section>
      )}
      {notice !== undefined && <Notice>{notice}</Notice>}
      {error !== undefined && <ErrorMessage error={error} title="Could not disable the agent" />}
      <h2>Your agents</h2>
      {agents.error !== undefined && (
        <ErrorMessage
          error={agents.error}
          title="Could not load agents"
          onRetry={() => void agents.reload()}
        />
      )}
      {agents.data === undefined ? (
        agents.error === undefined && <Loading label="Loading agents…" />
      ) : agents.data.agents.length === 0 ? (
        <Empty>
          <p>No agents yet. Create an enrolment code above and give it to your agent.</p>
        </Empty>
      ) : (
        <ul className="card-list" aria-label="Agents">
          {agents.data.agents.map((agent) => (
            <AgentCard
              key={agent.id}
              agent={agent}
              onDisable={() => setDisabling(agent)}
              onRenamed={() => void agents.reload()}
            />
          ))}
        </ul>
      )}
      {disabling !== undefined && (
        <ConfirmDialog
          title={`Disable ${disabling.name}?`}
          confirmLabel="Disable agent"
          danger
          busy={busy}
          onConfirm={() => void disable(disabling)}
          onCancel={() => setDisabling(undefined)}
        >
          <p>
            Every grant and token of this agent is revoked at once, and it can no longer ask for
            access. This cannot be undone: the agent would have to enrol again with a new key.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function EnrolmentCodeForm({ onCreated }: { onCreated: (code: EnrolmentCode) => void }) {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const id = useId();
  return (
    <form
      className="inline-form"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
          onCreated(await registry.createEnrolmentCode(name.trim()));
          setName("");
        } catch (failure) {
          setError(failure);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>Enrol a new agent</h2>
      <label htmlFor={id}>Agent name</label>
      <div className="inline-form-row">
        <input
          id={id}
          value={name}
          required
          maxLength={100}
          placeholder="e.g. Travel assistant"
          onChange={(event) => setName(event.target.value)}
        />
        <button type="submit" className="button-primary" disabled={busy || name.trim() === ""}>
          {busy ? "Creating…" : "Create enrolment code"}
        </button>
      </div>
      {error !== undefined && <ErrorMessage error={error} title="Could not create a code" />}
    </form>
  );
}

function AgentCard({
  agent,
  onDisable,
  onRenamed,
}: {
  agent: Agent;
  onDisable: () => void;
  onRenamed: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(agent.name);
  const [error, setError] = useState<unknown>();
  const id = useId();
  return (
    <li className="card" aria-label={`Agent ${agent.name}`}>
      <div className="card-head">
        <h3 className="card-title">{agent.name}</h3>
        <span className={`badge badge-status-${agent.status === "active" ? "active" : "revoked"}`}>
          {agent.status === "active" ? "Active" : "Disabled"}
        </span>
      </div>
      <p className="meta">
        Enrolled {formatDateTime(agent.created_at)}
        {agent.key_rotated_at !== null && ` · key rotated ${formatDateTime(agent.key_rotated_at)}`}
        {agent.disabled_at !== null && ` · disabled ${formatDateTime(agent.disabled_at)}`}
      </p>
      <p className="meta">
        Id <code className="id">{agent.id}</code> · key thumbprint{" "}
        <code className="id">{agent.jkt}</code>
      </p>
      {editing ? (
        <form
          className="inline-form"
          onSubmit={async (event) => {
            event.preventDefault();
            try {
              await registry.renameAgent(agent.id, name.trim());
              setEditing(false);
              onRenamed();
            } catch (failure) {
              setError(failure);
            }
          }}
        >
          <label htmlFor={id}>New name</label>
          <div className="inline-form-row">
            <input
              id={id}
              value={name}
              required
              maxLength={100}
              onChange={(event) => setName(event.target.value)}
            />
            <button type="submit" className="button-primary" disabled={name.trim() === ""}>
              Save
            </button>
            <button type="button" className="button-secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        agent.status === "active" && (
          <div className="button-row">
            <button type="button" className="button-secondary" onClick={() => setEditing(true)}>
              Rename
            </button>
            <button type="button" className="button-danger" onClick={onDisable}>
              Disable
            </button>
          </div>
        )
      )}
      {error !== undefined && <ErrorMessage error={error} title="Could not rename" />}
    </li>
  );
}
