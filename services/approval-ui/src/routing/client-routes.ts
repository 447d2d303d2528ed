/**
 * The app's pages, by path. The registry serves `index.html` for exactly these (its
 * `approval-app-routes.ts` keeps the same list), so a reload or a link from an e-mail works.
 */
export const CLIENT_ROUTES = {
  inbox: "/",
  requests: "/requests",
  request: (id: string) => `/requests/${encodeURIComponent(id)}`,
  enrol: "/enrol",
  signIn: "/sign-in",
  grants: "/grants",
  agents: "/my-agents",
  serviceProviders: "/service-providers",
  activity: "/activity",
  account: "/account",
} as const;

export type Page =
  | { readonly name: "inbox" }
  | { readonly name: "request"; readonly id: string }
  | { readonly name: "enrol" }
  | { readonly name: "sign-in" }
  | { readonly name: "grants" }
  | { readonly name: "agents" }
  | { readonly name: "service-providers" }
  | { readonly name: "activity" }
  | { readonly name: "account" }
  | { readonly name: "not-found" };

/** Which page a path shows. */
export function matchPage(pathname: string): Page {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  const request = /^\/requests\/([^/]+)$/.exec(path);
  if (request?.[1] !== undefined) {
    try {
      return { name: "request", id: decodeURIComponent(request[1]) };
    } catch {
      return { name: "not-found" };
    }
  }
  switch (path) {
    case "/":
    case "/requests":
      return { name: "inbox" };
    case "/enrol":
      return { name: "enrol" };
    case "/sign-in":
      return { name: "sign-in" };
    case "/grants":
      return { name: "grants" };
    case "/my-agents":
      return { name: "agents" };
    case "/service-providers":
      return { name: "service-providers" };
    case "/activity":
      return { name: "activity" };
    case "/account":
      return { name: "account" };
    default:
      return { name: "not-found" };
  }
}
