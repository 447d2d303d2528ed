import { useEffect, useId, useState } from "react";
import { registry } from "../api/registry.js";
import {
  cancelPendingPasskeyRequest,
  describePasskeyFailure,
  PasskeyCeremonyError,
  passkeyAutofillSupported,
  passkeysSupported,
  signWithPasskey,
} from "../auth/passkeys.js";
import { useSession } from "../auth/session.js";
import { PageTitle } from "../components/page-title.js";

/**
 * Sign-in with a discoverable passkey: a button for the modal prompt and, where the browser
 * supports it, passkey autofill (conditional UI) on the field below.
 */
export function SignInPage({ notice }: { notice?: string }) {
  const { signedIn } = useSession();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const fieldId = useId();
  const supported = passkeysSupported();

  const finish = async (autofill: boolean) => {
    const { challenge_id, options } = await registry.authenticationOptions();
    const response = await signWithPasskey(options, { autofill });
    setBusy(true);
    const { human } = await registry.verifyAuthentication({ challenge_id, response });
    signedIn(human);
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once per visit of the page
  useEffect(() => {
    let live = true;
    void passkeyAutofillSupported().then((autofill) => {
      if (!autofill || !live) return;
      finish(true).catch((failure: unknown) => {
        // A modal sign-in started by the button aborts the autofill request: not an error.
        if (!live || (failure instanceof PasskeyCeremonyError && failure.kind === "cancelled"))
          return;
        setBusy(false);
        setError(describePasskeyFailure(failure));
      });
    });
    return () => {
      live = false;
      cancelPendingPasskeyRequest();
    };
  }, []);

  const signIn = async () => {
    setError(undefined);
    setBusy(true);
    try {
      await finish(false);
    } catch (failure) {
      setError(describePasskeyFailure(failure));
      setBusy(false);
    }
  };

  return (
    <section className="narrow-page">
      <PageTitle title="Sign in">Sign in</PageTitle>
      {notice !== undefined && <p className="alert alert-info">{notice}</p>}
      <p>
        Use the passkey you created for AgentAuth: your device will ask for your fingerprint, face
        or screen lock.
      </p>
      {!supported && (
        <p className="alert alert-error" role="alert">
          This browser cannot use passkeys. Use an up-to-date Chrome, Edge, Firefox or Safari.
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void signIn();
        }}
      >
        <label htmlFor={fieldId}>Passkey</label>
        <input
          id={fieldId}
          name="username"
          autoComplete="username webauthn"
          placeholder="Choose a passkey"
          readOnly={busy}
        />
        <button type="submit" className="button-primary" disabled={busy || !supported}>
          {busy ? "Signing in…" : "Sign in with a passkey"}
        </button>
      </form>
      {error !== undefined && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
      <p className="hint">
        New here? Ask an administrator for an invitation link. The first administrator's link is
        printed by the registry when it starts.
      </p>
    </section>
  );
}
