import { type ReactNode, useEffect, useRef } from "react";
import { SessionProvider, useSession } from "./auth/session.js";
import { PageTitle } from "./components/page-title.js";
import { Loading } from "./components/status.js";
import { AccountPage } from "./pages/account-page.js";
import { ActivityPage } from "./pages/activity-page.js";
import { AgentsPage } from "./pages/agents-page.js";
import { EnrolPage } from "./pages/enrol-page.js";
import { GrantsPage } from "./pages/grants-page.js";
import { InboxPage } from "./pages/inbox-page.js";
import { RequestPage } from "./pages/request-page.js";
import { ServiceProvidersPage } from "./pages/service-providers-page.js";
import { SignInPage } from "./pages/sign-in-page.js";
import { CLIENT_ROUTES, matchPage, type Page } from "./routing/client-routes.js";
import { Link, Router, useRouter } from "./routing/router.js";

export function App() {
  return (
    <Router>
      <SessionProvider>
        <Shell />
      </SessionProvider>
    </Router>
  );
}

function Shell() {
  const { location, navigate } = useRouter();
  const { session } = useSession();
  const page = matchPage(location.pathname);
  const first = useRef(true);

  // On navigation, move focus to the new page's heading so keyboard and screen-reader users
  // start reading there (the first load keeps the browser's own focus).
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on each navigation
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.querySelector<HTMLElement>("#main h1")?.focus();
  }, [location.pathname]);

  const signedIn = session.status === "signed-in";
  useEffect(() => {
    if (signedIn && page.name === "sign-in") {
      const next = new URLSearchParams(location.search).get("next");
      navigate(next?.startsWith("/") && !next.startsWith("//") ? next : CLIENT_ROUTES.inbox, {
        replace: true,
      });
    }
  }, [signedIn, page.name, location.search, navigate]);

  let content: ReactNode;
  if (page.name === "enrol") content = <EnrolPage />;
  else if (session.status === "loading") content = <Loading label="Starting…" />;
  else if (session.status === "signed-out") {
    content = (
      <SignInPage
        {...(page.name === "request"
          ? { notice: "Sign in to review this request." }
          : session.error === undefined
            ? {}
            : { notice: `The registry could not be reached: ${session.error}` })}
      />
    );
  } else content = <SignedInPage page={page} />;

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        {content}
      </main>
    </>
  );
}

function SignedInPage({ page }: { page: Page }) {
  const { session } = useSession();
  switch (page.name) {
    case "inbox":
    case "sign-in":
      return <InboxPage />;
    case "request":
      return <RequestPage key={page.id} id={page.id} />;
    case "grants":
      return <GrantsPage />;
    case "agents":
      return <AgentsPage />;
    case "service-providers":
      return session.status === "signed-in" && session.human.is_admin ? (
        <ServiceProvidersPage />
      ) : (
        <NotFound message="Only administrators manage service providers." />
      );
    case "activity":
      return <ActivityPage />;
    case "account":
      return <AccountPage />;
    case "enrol":
      return <EnrolPage />;
    case "not-found":
      return <NotFound />;
  }
}

function NotFound({ message = "There is no page at this address." }: { message?: string }) {
  return (
    <section>
      <PageTitle title="Not found">Not found</PageTitle>
      <p>{message}</p>
      <p>
        <Link to={CLIENT_ROUTES.inbox}>Go to your requests</Link>
      </p>
    </section>
  );
}

function Header() {
  const { session, signOut } = useSession();
  const { navigate } = useRouter();
  const human = session.status === "signed-in" ? session.human : undefined;
  return (
    <header className="site-header">
      <Link to={CLIENT_ROUTES.inbox} className="brand">
        <span aria-hidden="true" className="brand-mark" />
        AgentAuth
      </Link>
      {human !== undefined && (
        <>
          <nav aria-label="Main">
            <ul>
              <li>
                <Link to={CLIENT_ROUTES.inbox}>Requests</Link>
              </li>
              <li>
                <Link to={CLIENT_ROUTES.grants}>Grants</Link>
              </li>
              <li>
                <Link to={CLIENT_ROUTES.agents}>Agents</Link>
              </li>
              <li>
                <Link to={CLIENT_ROUTES.activity}>Activity</Link>
              </li>
              {human.is_admin && (
                <li>
                  <Link to={CLIENT_ROUTES.serviceProviders}>Service providers</Link>
                </li>
              )}
              <li>
                <Link to={CLIENT_ROUTES.account}>Account</Link>
              </li>
            </ul>
          </nav>
          <div className="who">
            <span>{human.display_name}</span>
            <button
              type="button"
              className="button-secondary"
              onClick={() => {
                void signOut().then(() => navigate(CLIENT_ROUTES.signIn));
              }}
            >
              Sign out
            </button>
          </div>
        </>
      )}
    </header>
  );
}
