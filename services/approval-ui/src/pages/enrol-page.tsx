import { useEffect, useId, useState } from "react";
import { registry } from "../api/registry.js";
import { createPasskey, describePasskeyFailure, passkeysSupported } from "../auth/passkeys.js";
import { useSession } from "../auth/session.js";
import { PageTitle } from "../components/page-title.js";
import { useRouter } from "../routing/router.js";

// The invitation of this page load, kept in memory only (never in storage).
let invitationOfThisLoad: string | undefined;

/** Reads the invitation from the link's fragment, then drops it from the address bar. */
function takeInvitationFromFragment(): string | undefined {
  const token = window.location.hash.slice(1);
  if (token !== "") {
    invitationOfThisLoad = token;
    window.history.replaceState(null, "", window.location.pathname);
  }
  return invitationOfThisLoad;
}

/**
 * Enrolment from an invitation link (`/enrol#<token>`, the first human's printed at the
 * registry's first start): name yourself, create a passkey, and you are signed in. The token is
 * a fragment so it never reaches a server log; it is kept in memory only.
 */
export function EnrolPage() {
  const { signedIn, session } = useSession();
  const { navigate } = useRouter();
  const [invitation] = useState(takeInvitationFromFragment);
  const [displayName, setDisplayName] = useState("");
  const [passkeyName, setPasskeyName] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const nameId = useId();
  const passkeyId = useId();

  useEffect(() => {
    if (session.status === "signed-in" && invitation === undefined)
      navigate("/", { replace: true });
  }, [session, invitation, navigate]);

  if (invitation === undefined) {
    return (
      <section className="narrow-page">
        <PageTitle title="Enrol">Enrol</PageTitle>
        <p className="alert alert-error" role="alert">
          This link has no invitation in it. Open the full link you were given (it ends with
          #inv_…), or ask an administrator for a new one.
        </p>
      </section>
    );
  }

  const enrol = async () => {
    setError(undefined);
    setBusy(true);
    try {
      const { challenge_id, options } = await registry.registrationOptions({
        invitation,
        ...(displayName.trim() === "" ? {} : { display_name: displayName.trim() }),
      });
      const response = await createPasskey(options);
      const verified = await registry.verifyRegistration({
        challenge_id,
        response,
        ...(passkeyName.trim() === "" ? {} : { passkey_name: passkeyName.trim() }),
      });
      if (verified.human !== undefined) signedIn(verified.human);
      navigate("/", { replace: true });
    } catch (failure) {
      setError(describePasskeyFailure(failure));
      setBusy(false);
    }
  };

  return (
    <section className="narrow-page">
      <PageTitle title="Create your passkey">Create your passkey</PageTitle>
      <p>
        You have been invited to approve what AI agents may do on your behalf. You will sign in and
        approve with a passkey, kept by your device or password manager: nothing to remember.
      </p>
      {!passkeysSupported() && (
        <p className="alert alert-error" role="alert">
          This browser cannot create passkeys. Use an up-to-date Chrome, Edge, Firefox or Safari.
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void enrol();
        }}
      >
        <label htmlFor={nameId}>Your name</label>
        <input
          id={nameId}
          value={displayName}
          onChange={(event) => setDisplayName(event.target.value)}
          autoComplete="name"
          maxLength={100}
          aria-describedby={`${nameId}-hint`}
        />
        <span id={`${nameId}-hint`} className="hint">
          Shown to other people of your organisation. Leave empty to keep the name on your
          invitation.
        </span>
        <label htmlFor={passkeyId}>Name this passkey (optional)</label>
        <input
          id={passkeyId}
          value={passkeyName}
          onChange={(event) => setPasskeyName(event.target.value)}
          placeholder="e.g. Work laptop"
          maxLength={100}
        />
        <button type="submit" className="button-primary" disabled={busy || !passkeysSupported()}>
          {busy ? "Waiting for your passkey…" : "Create passkey and sign in"}
        </button>
      </form>
      {error !== undefined && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
