const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * Normalises an HTTP(S) URI for `htu` comparison (RFC 9449 §4.3 rule 9): drops query and
 * fragment, then applies RFC 3986 §6.2.2 syntax-based normalisation (case of scheme and host,
 * upper-case percent-encodings, decoded unreserved characters, dot segments) and §6.2.3
 * scheme-based normalisation (default port, empty path as "/"). The WHATWG URL parser does all
 * of it except the percent-encoding rules. Returns `undefined` for anything but an absolute
 * http(s) URI without credentials.
 */
export function normalizeHtu(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password) {
    return undefined;
  }
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  return `${url.protocol}//${url.host}${path}`;
}
