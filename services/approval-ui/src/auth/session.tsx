import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
} from "react";
import { isApiError } from "../api/api-error.js";
import { setUnauthenticatedHandler } from "../api/http.js";
import { registry } from "../api/registry.js";
import type { Human } from "../api/types.js";

export type SessionState =
  | { readonly status: "loading" }
  | { readonly status: "signed-out"; readonly error?: string }
  | { readonly status: "signed-in"; readonly human: Human };

interface SessionValue {
  readonly session: SessionState;
  /** After a passkey ceremony started a session. */
  signedIn(human: Human): void;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionValue | undefined>(undefined);

/**
 * Who is signed in, asked of the registry (`GET /api/me`): the session itself is an HttpOnly
 * cookie this script never sees. Any 401 from the registry signs the app out.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionState>({ status: "loading" });

  useEffect(() => {
    let live = true;
    setUnauthenticatedHandler(() => {
      if (live) setSession({ status: "signed-out" });
    });
    registry
      .me()
      .then((human) => live && setSession({ status: "signed-in", human }))
      .catch((error: unknown) => {
        if (!live) return;
        setSession(
          isApiError(error) && error.status === 401
            ? { status: "signed-out" }
            : {
                status: "signed-out",
                error: error instanceof Error ? error.message : "The registry is unavailable",
              },
        );
      });
    return () => {
      live = false;
      setUnauthenticatedHandler(undefined);
    };
  }, []);

  const signedIn = useCallback((human: Human) => setSession({ status: "signed-in", human }), []);
  const signOut = useCallback(async () => {
    try {
      await registry.logout();
    } finally {
      setSession({ status: "signed-out" });
    }
  }, []);
  const value = useMemo(() => ({ session, signedIn, signOut }), [session, signedIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (value === undefined) throw new Error("useSession outside <SessionProvider>");
  return value;
}

/** The signed-in human; only for pages rendered behind the sign-in gate. */
export function useHuman(): Human {
  const { session } = useSession();
  if (session.status !== "signed-in") throw new Error("useHuman needs a signed-in human");
  return session.human;
}
