import { type Capability, parseCapabilities } from "@agentauth/core";
import { useId, useMemo, useState } from "react";
import { registry } from "../api/registry.js";
import type {
  CreatedServiceProviderKey,
  ServiceProvider,
  ServiceProviderKey,
} from "../api/types.js";
import { CapabilityList } from "../components/capability-list.js";
import { CopyField } from "../components/copy-field.js";
import { ConfirmDialog } from "../components/dialog.js";
import { formatDateTime } from "../components/format.js";
import { PageTitle } from "../components/page-title.js";
import { Empty, ErrorMessage, Loading, Notice } from "../components/status.js";
import { useResource } from "../hooks/use-resource.js";

const EXAMPLE_CEILING = JSON.stringify(
  [
    { type: "read", resource: "*" },
    { type: "transact", resource: "merchant/*", max_amount: "500.00", currency: "EUR" },
  ],
  null,
  2,
);

type Pending =
  | {
      readonly kind: "revoke-key";
      readonly provider: ServiceProvider;
      readonly key: ServiceProviderKey;
    }
  | { readonly kind: "disable"; readonly provider: ServiceProvider };

/** Admin: service providers (the APIs agents call), their capability ceilings and API keys. */
export function ServiceProvidersPage() {
  const providers = useResource("service-providers", () => registry.serviceProviders());
  const [newKey, setNewKey] = useState<{
    provider: ServiceProvider;
    key: CreatedServiceProviderKey;
    rotatedFrom?: ServiceProviderKey;
  }>();
  const [pending, setPending] = useState<Pending>();
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<unknown>();

  const act = async (action: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      setNotice(done);
      await providers.reload();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
      setPending(undefined);
    }
  };

  const createKey = (provider: ServiceProvider, rotatedFrom?: ServiceProviderKey) =>
    act(
      async () => {
        const key = await registry.createServiceProviderKey(provider.id);
        setNewKey({ provider, key, ...(rotatedFrom === undefined ? {} : { rotatedFrom }) });
      },
      rotatedFrom === undefined
        ? "Key created."
        : "New key created: switch the verifier to it, then revoke the old one.",
    );

  return (
    <section>
      <PageTitle title="Service providers">Service providers</PageTitle>
      <CreateServiceProviderForm
        onCreated={(provider) => {
          setNotice(`${provider.name} created. Create an API key for its verifier below.`);
          void providers.reload();
        }}
      />
      {newKey !== undefined && (
        <section className="card secret-card" aria-label="New API key">
          <h2 className="card-title">API key for {newKey.provider.name}</h2>
          <p>
            <strong>Copy it now: it is shown only once.</strong> The registry keeps only its hash.
            The verifier of {newKey.provider.name} uses it to introspect tokens.
          </p>
          <CopyField label="Verifier API key" value={newKey.key.key} />
          <div className="button-row">
            {newKey.rotatedFrom !== undefined && (
              <button
                type="button"
                className="button-danger"
                onClick={() => {
                  const { provider, rotatedFrom } = newKey;
                  if (rotatedFrom !== undefined)
                    setPending({ kind: "revoke-key", provider, key: rotatedFrom });
                }}
              >
                Revoke the old key ({newKey.rotatedFrom.prefix}…)
              </button>
            )}
            <button type="button" className="button-secondary" onClick={() => setNewKey(undefined)}>
              I have stored it
            </button>
          </div>
        </section>
      )}
      {notice !== undefined && <Notice>{notice}</Notice>}
      {error !== undefined && <ErrorMessage error={error} title="That did not work" />}
      <h2>All service providers</h2>
      {providers.error !== undefined && (
        <ErrorMessage
          error={providers.error}
          title="Could not load service providers"
          onRetry={() => void providers.reload()}
        />
      )}
      {providers.data === undefined ? (
        providers.error === undefined && <Loading label="Loading service providers…" />
      ) : providers.data.service_providers.length === 0 ? (
        <Empty>
          <p>No service providers yet. Agents can only ask for access to a registered one.</p>
        </Empty>
      ) : (
        <ul className="card-list" aria-label="Service providers">
          {providers.data.service_providers.map((provider) => {
            const active = provider.keys.filter((key) => key.revoked_at === null);
            return (
              <li
                key={provider.id}
                className="card"
                aria-label={`Service provider ${provider.name}`}
              >
                <div className="card-head">
                  <h3 className="card-title">{provider.name}</h3>
                  <span
                    className={`badge badge-status-${provider.disabled_at === null ? "active" : "revoked"}`}
                  >
                    {provider.disabled_at === null ? "Enabled" : "Disabled"}
                  </span>
                </div>
                <p className="meta">
                  <code className="id">{provider.id}</code> (the tokens' audience) · created{" "}
                  {formatDateTime(provider.created_at)}
                </p>
                <h4>Most it accepts</h4>
                <CapabilityList
                  capabilities={provider.ceiling}
                  label={`Ceiling of ${provider.name}`}
                />
                <h4>API keys</h4>
                {provider.keys.length === 0 ? (
                  <p className="muted">No keys.</p>
                ) : (
                  <ul className="key-list">
                    {provider.keys.map((key) => (
                      <li key={key.id}>
                        <code className="id">aask_{key.prefix}_…</code> created{" "}
                        {formatDateTime(key.created_at)}
                        {key.revoked_at === null ? (
                          provider.disabled_at === null && (
                            <span className="button-row inline">
                              <button
                                type="button"
                                className="button-secondary"
                                disabled={busy}
                                onClick={() => void createKey(provider, key)}
                              >
                                Rotate
                              </button>
                              <button
                                type="button"
                                className="button-danger"
                                onClick={() => setPending({ kind: "revoke-key", provider, key })}
                              >
                                Revoke
                              </button>
                            </span>
                          )
                        ) : (
                          <span className="muted"> · revoked {formatDateTime(key.revoked_at)}</span>
                        )}
                      </li>
                    ))}
                  </ul>
                )}
                {provider.disabled_at === null && (
                  <div className="button-row">
                    <button
                      type="button"
                      className="button-secondary"
                      disabled={busy}
                      onClick={() => void createKey(provider)}
                    >
                      {active.length === 0 ? "Create API key" : "Add another API key"}
                    </button>
                    <button
                      type="button"
                      className="button-danger"
                      onClick={() => setPending({ kind: "disable", provider })}
                    >
                      Disable
                    </button>
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {pending?.kind === "revoke-key" && (
        <ConfirmDialog
          title={`Revoke key aask_${pending.key.prefix}_…?`}
          confirmLabel="Revoke key"
          danger
          busy={busy}
          onCancel={() => setPending(undefined)}
          onConfirm={() =>
            void act(async () => {
              await registry.revokeServiceProviderKey(pending.provider.id, pending.key.id);
              setNewKey(undefined);
            }, "Key revoked.")
          }
        >
          <p>A verifier still using this key is refused from now on.</p>
        </ConfirmDialog>
      )}
      {pending?.kind === "disable" && (
        <ConfirmDialog
          title={`Disable ${pending.provider.name}?`}
          confirmLabel="Disable service provider"
          danger
          busy={busy}
          onCancel={() => setPending(undefined)}
          onConfirm={() =>
            void act(
              () => registry.disableServiceProvider(pending.provider.id),
              `${pending.provider.name} disabled.`,
            )
          }
        >
          <p>Agents can no longer ask for access to it. This cannot be undone here.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function CreateServiceProviderForm({
  onCreated,
}: {
  onCreated: (provider: ServiceProvider) => void;
}) {
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [ceiling, setCeiling] = useState(EXAMPLE_CEILING);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const base = useId();
  const parsed = useMemo(():
    | { ok: true; capabilities: Capability[] }
    | { ok: false; problem: string } => {
    try {
      return { ok: true, capabilities: parseCapabilities(JSON.parse(ceiling)) };
    } catch (failure) {
      return { ok: false, problem: failure instanceof Error ? failure.message : "Invalid ceiling" };
    }
  }, [ceiling]);
  return (
    <details className="card create-form">
      <summary>Register a service provider</summary>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!parsed.ok) return;
          setBusy(true);
          setError(undefined);
          try {
            onCreated(
              await registry.createServiceProvider({
                id: id.trim(),
                name: name.trim(),
                ceiling: parsed.capabilities,
              }),
            );
            setId("");
            setName("");
          } catch (failure) {
            setError(failure);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label htmlFor={`${base}-id`}>Identifier</label>
        <input
          id={`${base}-id`}
          value={id}
          required
          maxLength={200}
          aria-describedby={`${base}-id-hint`}
          onChange={(event) => setId(event.target.value)}
          placeholder="https://payments.example.com"
        />
        <span id={`${base}-id-hint`} className="hint">
          An https URI or a short slug; it becomes the audience of every token for it.
        </span>
        <label htmlFor={`${base}-name`}>Name</label>
        <input
          id={`${base}-name`}
          value={name}
          required
          maxLength={100}
          onChange={(event) => setName(event.target.value)}
        />
        <label htmlFor={`${base}-ceiling`}>
          Ceiling: the most any agent may be granted (JSON capabilities)
        </label>
        <textarea
          id={`${base}-ceiling`}
          className="code-input"
          rows={8}
          value={ceiling}
          aria-invalid={!parsed.ok}
          aria-describedby={`${base}-ceiling-preview`}
          onChange={(event) => setCeiling(event.target.value)}
        />
        <div id={`${base}-ceiling-preview`}>
          {parsed.ok ? (
            <CapabilityList capabilities={parsed.capabilities} label="Ceiling preview" />
          ) : (
            <p className="field-error">{parsed.problem}</p>
          )}
        </div>
        <button type="submit" className="button-primary" disabled={busy || !parsed.ok}>
          {busy ? "Creating…" : "Create service provider"}
        </button>
        {error !== undefined && <ErrorMessage error={error} title="Could not create it" />}
      </form>
    </details>
  );
}
