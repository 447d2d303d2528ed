import { useId, useState } from "react";
import { registry } from "../api/registry.js";
import type { Invitation, Passkey } from "../api/types.js";
import { createPasskey, describePasskeyFailure } from "../auth/passkeys.js";
import { useHuman } from "../auth/session.js";
import { CopyField } from "../components/copy-field.js";
import { ConfirmDialog } from "../components/dialog.js";
import { formatDateTime, formatRelative } from "../components/format.js";
import { PageTitle } from "../components/page-title.js";
import { ErrorMessage, Loading, Notice } from "../components/status.js";
import { useResource } from "../hooks/use-resource.js";

/** The signed-in human's passkeys (add, remove — never the last) and, for admins, invitations. */
export function AccountPage() {
  const human = useHuman();
  const passkeys = useResource("passkeys", () => registry.passkeys());
  const [removing, setRemoving] = useState<Passkey>();
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<string>();
  const [passkeyName, setPasskeyName] = useState("");
  const nameId = useId();
  const list = passkeys.data?.passkeys;

  const addPasskey = async () => {
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    try {
      const { challenge_id, options } = await registry.registrationOptions({});
      const response = await createPasskey(options);
      await registry.verifyRegistration({
        challenge_id,
        response,
        ...(passkeyName.trim() === "" ? {} : { passkey_name: passkeyName.trim() }),
      });
      setPasskeyName("");
      setNotice("Passkey added.");
      await passkeys.reload();
    } catch (failure) {
      setError(describePasskeyFailure(failure));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (passkey: Passkey) => {
    setBusy(true);
    setError(undefined);
    try {
      await registry.removePasskey(passkey.credential_id);
      setNotice(`Removed “${passkey.name}”.`);
      await passkeys.reload();
    } catch (failure) {
      setError(describePasskeyFailure(failure));
    } finally {
      setBusy(false);
      setRemoving(undefined);
    }
  };

  return (
    <section>
      <PageTitle title="Your account">Your account</PageTitle>
      <p>
        Signed in as <strong>{human.display_name}</strong>
        {human.is_admin ? " (administrator)" : ""}.
      </p>
      <h2>Your passkeys</h2>
      {notice !== undefined && <Notice>{notice}</Notice>}
      {error !== undefined && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {passkeys.error !== undefined && (
        <ErrorMessage
          error={passkeys.error}
          title="Could not load passkeys"
          onRetry={() => void passkeys.reload()}
        />
      )}
      {list === undefined ? (
        passkeys.error === undefined && <Loading label="Loading passkeys…" />
      ) : (
        <ul className="card-list" aria-label="Passkeys">
          {list.map((passkey) => (
            <li key={passkey.credential_id} className="card">
              <div className="card-head">
                <h3 className="card-title">{passkey.name}</h3>
                <span className="badge">{passkey.backed_up ? "Synced" : "This device only"}</span>
              </div>
              <p className="meta">
                Added {formatDateTime(passkey.created_at)} · last used{" "}
                {passkey.last_used_at === null ? "never" : formatRelative(passkey.last_used_at)}
              </p>
              <button
                type="button"
                className="button-danger"
                disabled={list.length === 1 || busy}
                aria-describedby={list.length === 1 ? `${nameId}-last` : undefined}
                onClick={() => setRemoving(passkey)}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {list?.length === 1 && (
        <p id={`${nameId}-last`} className="hint">
          Your only passkey cannot be removed: add another one first.
        </p>
      )}
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void addPasskey();
        }}
      >
        <label htmlFor={nameId}>Name for a new passkey (optional)</label>
        <div className="inline-form-row">
          <input
            id={nameId}
            value={passkeyName}
            maxLength={100}
            placeholder="e.g. Phone"
            onChange={(event) => setPasskeyName(event.target.value)}
          />
          <button type="submit" className="button-primary" disabled={busy}>
            {busy ? "Waiting for your passkey…" : "Add a passkey"}
          </button>
        </div>
      </form>
      {human.is_admin && <InviteForm />}
      {removing !== undefined && (
        <ConfirmDialog
          title={`Remove “${removing.name}”?`}
          confirmLabel="Remove passkey"
          danger
          busy={busy}
          onConfirm={() => void remove(removing)}
          onCancel={() => setRemoving(undefined)}
        >
          <p>
            You will no longer be able to sign in or approve with it. Receipts it signed stay
            checkable only by someone who kept its public key.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function InviteForm() {
  const [name, setName] = useState("");
  const [admin, setAdmin] = useState(false);
  const [invitation, setInvitation] = useState<Invitation>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const base = useId();
  return (
    <>
      <h2>Invite someone</h2>
      <form
        className="inline-form"
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            setInvitation(
              await registry.invite({
                ...(name.trim() === "" ? {} : { display_name: name.trim() }),
                is_admin: admin,
              }),
            );
            setName("");
          } catch (failure) {
            setError(failure);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label htmlFor={`${base}-name`}>Their name (optional)</label>
        <input
          id={`${base}-name`}
          value={name}
          maxLength={100}
          onChange={(event) => setName(event.target.value)}
        />
        <div className="checkbox-row">
          <input
            id={`${base}-admin`}
            type="checkbox"
            checked={admin}
            onChange={(event) => setAdmin(event.target.checked)}
          />
          <label htmlFor={`${base}-admin`}>Make them an administrator</label>
        </div>
        <button type="submit" className="button-primary" disabled={busy}>
          Create invitation link
        </button>
      </form>
      {error !== undefined && <ErrorMessage error={error} title="Could not invite" />}
      {invitation !== undefined && (
        <section className="card secret-card" aria-label="Invitation link">
          <p>
            Send this link to them privately. It works once and expires{" "}
            {formatRelative(invitation.expires_at)}; it is not shown again.
          </p>
          <CopyField label="Invitation link" value={invitation.invitation_url} />
        </section>
      )}
    </>
  );
}
